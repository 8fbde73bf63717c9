//! The master key that encrypts private keys at rest.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// File name of the generated master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

const KEY_LEN: usize = 32;

/// A 256-bit AES key. Zeroized on drop; `Debug` shows only its id.
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    id: MasterKeyId,
}

/// Public fingerprint of a master key: the first 8 bytes of SHA-256 of the key. Recorded in
/// every ciphertext so a wrong or rotated key is recognised before decryption is attempted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MasterKeyId(pub(crate) [u8; 8]);

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "master key file {path} is readable or writable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("cannot read master key file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create master key file {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("master key from {origin} is not valid: expected base64 of exactly 32 bytes")]
    Malformed { origin: String },
    #[error("the system random number generator failed")]
    Random,
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, MasterKeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| MasterKeyError::Random)?;
        Ok(Self::from_bytes(bytes))
    }

    /// Parses the base64 text form (as written to `master.key` or given in the
    /// environment). `origin` names where it came from, for the error message.
    pub fn from_base64(text: &str, origin: &str) -> Result<Self, MasterKeyError> {
        let malformed = || MasterKeyError::Malformed {
            origin: origin.to_owned(),
        };
        let decoded = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| malformed())?);
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if decoded.len() != KEY_LEN {
            return Err(malformed());
        }
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_bytes(bytes))
    }

    /// The base64 text form, for writing to a file or showing once to an operator.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    /// Reads a key file, refusing one that group or others can access.
    pub fn load(path: &Path) -> Result<Self, MasterKeyError> {
        let read_error = |source| MasterKeyError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = fs::metadata(path).map_err(read_error)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(MasterKeyError::InsecurePermissions {
                path: path.to_owned(),
                mode: mode & 0o7777,
            });
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(read_error)?);
        Self::from_base64(&text, &path.display().to_string())
    }

    /// Loads `<data_dir>/master.key`, generating it with mode 0600 when absent.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, MasterKeyError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        if path.exists() {
            return Self::load(&path);
        }
        let key = Self::generate()?;
        let create_error = |source| MasterKeyError::Create {
            path: path.clone(),
            source,
        };
        // create_new + mode at creation: the key is never on disk with wider permissions.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(create_error)?;
        file.write_all(key.to_base64().as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(create_error)?;
        Ok(key)
    }

    pub fn id(&self) -> MasterKeyId {
        self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let hash = digest::digest(&digest::SHA256, bytes.as_ref());
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_ref()[..8]);
        Self {
            bytes,
            id: MasterKeyId(id),
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::lower(&self.0))
    }
}

impl fmt::Debug for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyId({self})")
    }
}
