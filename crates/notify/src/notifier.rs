//! The one [`NoticeSender`] the service is given: webhooks always, e-mail when an SMTP server is
//! configured.

use crate::smtp::{SmtpSender, SmtpSettings, SmtpSetupError};
use crate::webhook::WebhookSender;
use tenantlink_service::BoxFuture;
use tenantlink_service::SecretString;
use tenantlink_service::notices::{EmailMessage, NoticeSender, SendError, WebhookMessage};

#[derive(Debug, Clone)]
pub struct Notifier {
    webhook: WebhookSender,
    smtp: Option<SmtpSender>,
}

impl Notifier {
    pub fn new(webhook: WebhookSender, smtp: Option<SmtpSender>) -> Self {
        Self { webhook, smtp }
    }

    /// The default webhook sender, and an SMTP sender when `smtp` is set.
    pub fn from_settings(smtp: Option<&SmtpSettings>) -> Result<Self, NotifierSetupError> {
        let webhook = WebhookSender::new().map_err(NotifierSetupError::Webhook)?;
        let smtp = smtp.map(SmtpSender::new).transpose()?;
        Ok(Self::new(webhook, smtp))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifierSetupError {
    #[error("{0}")]
    Webhook(String),
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
}

impl NoticeSender for Notifier {
    fn send_webhook<'a>(
        &'a self,
        url: &'a str,
        secret: &'a SecretString,
        message: &'a WebhookMessage,
    ) -> BoxFuture<'a, Result<u16, SendError>> {
        Box::pin(self.webhook.send(url, secret, message))
    }

    fn send_email<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match &self.smtp {
                Some(smtp) => smtp.send(message).await,
                None => Err(SendError {
                    status_code: None,
                    message: "no SMTP server configured: set [smtp] in the configuration to send e-mail notices".to_owned(),
                }),
            }
        })
    }
}
