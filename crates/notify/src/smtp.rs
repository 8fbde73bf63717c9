//! E-mail delivery through the operator's SMTP server: STARTTLS (required, never opportunistic),
//! TLS from the first byte, or plain text to a relay on this machine only; optionally
//! authenticated. One connection per message: notices are few, and a pooled connection would
//! outlive a relay's idle timeout between them.

use crate::destination::is_loopback_host;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;
use tenantlink_service::SecretString;
use tenantlink_service::notices::{EmailMessage, SendError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connect, then `STARTTLS` before anything else; a server that does not offer it is
    /// refused (a downgrade is not followed). Port 587 by default.
    StartTls,
    /// TLS from the first byte ("SMTPS", implicit TLS). Port 465 by default.
    Tls,
    /// No encryption: only to a relay on this machine. Port 25 by default.
    Plain,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Tls => "tls",
            Self::Plain => "plain",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::Plain => 25,
        }
    }
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "plain" => Ok(Self::Plain),
            other => Err(format!(
                "{other:?} is not an SMTP security mode: use starttls, tls or plain"
            )),
        }
    }
}

/// A user name and its password (read from a file by the configuration).
#[derive(Debug, Clone)]
pub struct SmtpAuth {
    pub username: String,
    pub password: SecretString,
}

/// Where and how e-mail is sent.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    /// The security mode's usual port when `None`.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub auth: Option<SmtpAuth>,
    /// The `From` of every notice, e.g. `tenantlink <tenantlink@example.com>`.
    pub from: String,
    /// PEM certificates trusted besides the system's, for a relay with a private CA.
    pub extra_ca_file: Option<PathBuf>,
    /// How long one SMTP exchange may wait for the server.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Settings with the default port and timeout, no authentication and no extra CA.
    pub fn new(host: impl Into<String>, security: SmtpSecurity, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: None,
            security,
            auth: None,
            from: from.into(),
            extra_ca_file: None,
            timeout: crate::DEFAULT_TIMEOUT,
        }
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// The rules checked before a connection is ever made; the configuration calls this at
    /// start-up so a mistake is reported then, with its origin.
    pub fn check(&self) -> Result<Mailbox, SmtpSetupError> {
        if self.host.trim().is_empty() {
            return Err(SmtpSetupError::NoHost);
        }
        if self.security == SmtpSecurity::Plain && !is_loopback_host(&self.host) {
            return Err(SmtpSetupError::PlainToRemote {
                host: self.host.clone(),
            });
        }
        self.from
            .parse::<Mailbox>()
            .map_err(|e| SmtpSetupError::From {
                from: self.from.clone(),
                reason: e.to_string(),
            })
    }
}

/// SMTP settings that cannot be used. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("no SMTP host is set")]
    NoHost,
    #[error(
        "plain SMTP (no TLS) is only allowed to a relay on this machine (localhost, 127.0.0.0/8, ::1), not to {host}: use security = \"starttls\" or \"tls\""
    )]
    PlainToRemote { host: String },
    #[error("the SMTP from address {from:?} is not a mailbox ({reason})")]
    From { from: String, reason: String },
    #[error("cannot use the SMTP CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("cannot set up TLS for the SMTP server: {0}")]
    Tls(String),
}

/// Sends e-mail notices through one SMTP server.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    target: String,
    security: SmtpSecurity,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("target", &self.target)
            .field("security", &self.security)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSetupError> {
        let from = settings.check()?;
        let port = settings.port();
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(settings)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(settings)?),
            SmtpSecurity::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(auth) = &settings.auth {
            builder = builder.credentials(Credentials::new(
                auth.username.clone(),
                auth.password.expose().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            target: format!("{}:{port}", settings.host),
            security: settings.security,
        })
    }

    /// Sends one message: `text` and `html` as the two alternatives of one multipart message.
    pub async fn send(&self, message: &EmailMessage) -> Result<(), SendError> {
        let email = self.compose(message)?;
        self.transport
            .send(email)
            .await
            .map(drop)
            .map_err(|e| self.describe(&e))
    }

    fn compose(&self, message: &EmailMessage) -> Result<Message, SendError> {
        if message.to.is_empty() {
            return Err(failure("the e-mail has no recipient".to_owned()));
        }
        // A Message-ID (lettre makes one from this host's name): relays and spam filters
        // expect one.
        let mut builder = Message::builder()
            .message_id(None)
            .from(self.from.clone())
            .subject(message.subject.clone());
        for to in &message.to {
            let mailbox = to.parse::<Mailbox>().map_err(|e| {
                failure(format!(
                    "the recipient {to:?} is not an e-mail address ({e})"
                ))
            })?;
            builder = builder.to(mailbox);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| failure(format!("cannot compose the e-mail: {e}")))
    }

    fn describe(&self, error: &lettre::transport::smtp::Error) -> SendError {
        let target = &self.target;
        let message = if error.is_timeout() {
            format!("the SMTP server {target} did not answer in time (timeout)")
        } else if error.is_tls() || crate::cause::is_tls(error) {
            format!(
                "TLS with the SMTP server {target} ({}) failed: {error}",
                self.security.as_str()
            )
        } else if error.is_permanent() {
            format!("the SMTP server {target} refused the message: {error}")
        } else if error.is_transient() {
            format!("the SMTP server {target} deferred the message: {error}")
        } else if crate::cause::is_connection_refused(error) {
            format!("connection refused by the SMTP server {target}")
        } else {
            format!("sending through the SMTP server {target} failed: {error}")
        };
        failure(message)
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.extra_ca_file {
        let ca_error = |reason: String| SmtpSetupError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| SmtpSetupError::Tls(e.to_string()))
}

fn failure(message: String) -> SendError {
    SendError {
        status_code: None,
        message,
    }
}
