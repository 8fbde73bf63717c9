//! The combined sender: webhooks always, e-mail only with an SMTP server.

use tenantlink_notify::{Notifier, SmtpSecurity, SmtpSettings};
use tenantlink_service::SecretString;
use tenantlink_service::notices::{EmailMessage, NoticeSender, WebhookMessage};
use tenantlink_test_support::{SmtpServer, WebhookReceiver};

fn email() -> EmailMessage {
    EmailMessage {
        to: vec!["ops@example.com".to_owned()],
        subject: "subject".to_owned(),
        text: "text".to_owned(),
        html: "<p>html</p>".to_owned(),
    }
}

#[tokio::test]
async fn without_smtp_e_mail_is_an_error_that_says_so_and_webhooks_still_leave() {
    let notifier = Notifier::from_settings(None).unwrap();
    let err = notifier.send_email(&email()).await.unwrap_err();
    assert_eq!(err.status_code, None);
    assert!(
        err.message.starts_with("no SMTP server configured"),
        "{err}"
    );

    let receiver = WebhookReceiver::start();
    let message = WebhookMessage {
        id: "n1".to_owned(),
        timestamp: time::OffsetDateTime::now_utc(),
        body: "{}".to_owned(),
    };
    let secret = SecretString::new("whsec_AAECAwQFBgcICQ==");
    assert_eq!(
        notifier
            .send_webhook(&receiver.url("/"), &secret, &message)
            .await,
        Ok(200)
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn with_smtp_e_mail_goes_to_the_server() {
    let server = SmtpServer::start();
    let settings = SmtpSettings {
        port: Some(server.port()),
        ..SmtpSettings::new(server.host(), SmtpSecurity::Plain, "tenantlink@example.net")
    };
    let notifier = Notifier::from_settings(Some(&settings)).unwrap();
    notifier.send_email(&email()).await.unwrap();
    assert_eq!(server.messages().len(), 1);
}
