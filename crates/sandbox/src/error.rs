use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the sandbox could not start or persist its state.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "the local CA in {path} is unusable ({reason}); delete ca.pem and ca-key.pem to create a new one"
    )]
    BrokenCa { path: PathBuf, reason: String },
    #[error("cannot create TLS material: {0}")]
    Tls(String),
    #[error("the token-signing key in {path} is unusable; delete it to create a new one")]
    BrokenSigningKey { path: PathBuf },
    #[error("the directory file {path} is not valid sandbox state: {reason}")]
    BrokenTenantRegistry { path: PathBuf, reason: String },
    #[error(
        "the mailbox file {path} is not valid sandbox state ({reason}); delete it to keep only the generated messages"
    )]
    BrokenMailboxes { path: PathBuf, reason: String },
    #[error(transparent)]
    Config(#[from] crate::ConfigFileError),
    #[error("cannot generate a key: {0}")]
    KeyGeneration(String),
}

impl SandboxError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
