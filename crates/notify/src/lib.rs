//! How notices leave tenantlink: a webhook POST signed as Standard Webhooks specifies, and an
//! e-mail through the operator's SMTP server. [`Notifier`] is the one
//! [`tenantlink_service::notices::NoticeSender`] the service is given; it sends once and reports
//! what happened in a sentence, and the service's dispatcher decides whether to try again.
//!
//! Both channels refuse to send in clear text except to this machine: a webhook URL must be
//! HTTPS unless its host is a loopback address, and SMTP without TLS is allowed only to a
//! loopback relay.

mod cause;
mod destination;
mod notifier;
mod signature;
mod smtp;
mod webhook;

pub use destination::is_loopback_host;
pub use notifier::{Notifier, NotifierSetupError};
pub use signature::{SignatureError, sign};
pub use smtp::{SmtpAuth, SmtpSecurity, SmtpSender, SmtpSettings, SmtpSetupError};
pub use webhook::{DEFAULT_TIMEOUT, WebhookSender, check_webhook_url};
