//! E-mail deliveries through a real SMTP server (`aiosmtpd`, third-party), in each security mode;
//! the received message is parsed by Python's `email` package, not by our own code.

use std::time::Duration;
use tenantlink_notify::{SmtpAuth, SmtpSecurity, SmtpSender, SmtpSettings, SmtpSetupError};
use tenantlink_service::SecretString;
use tenantlink_service::notices::EmailMessage;
use tenantlink_test_support::{SmtpServer, SmtpServerMode, SmtpServerOptions, TestCertificates};

fn message() -> EmailMessage {
    EmailMessage {
        to: vec![
            "ops@example.com".to_owned(),
            "Oncall <oncall@example.org>".to_owned(),
        ],
        subject: "Contoso: certificate expires in 14 days".to_owned(),
        text: "The certificate of Contoso – Ünïcode GmbH expires on 2026-12-16.\n".to_owned(),
        html: "<p>The certificate of <b>Contoso – Ünïcode GmbH</b> expires on 2026-12-16.</p>\n"
            .to_owned(),
    }
}

fn settings(host: &str, port: u16, security: SmtpSecurity) -> SmtpSettings {
    SmtpSettings {
        port: Some(port),
        timeout: Duration::from_secs(10),
        ..SmtpSettings::new(host, security, "tenantlink <tenantlink@example.net>")
    }
}

#[tokio::test]
async fn a_message_arrives_with_its_plain_text_and_html_alternatives() {
    let server = SmtpServer::start();
    let sender =
        SmtpSender::new(&settings(server.host(), server.port(), SmtpSecurity::Plain)).unwrap();

    sender.send(&message()).await.unwrap();

    let received = server.messages();
    assert_eq!(received.len(), 1, "{}", server.log());
    let email = &received[0];
    assert_eq!(email.mail_from, "tenantlink@example.net");
    assert_eq!(email.rcpt_tos, ["ops@example.com", "oncall@example.org"]);
    assert_eq!(email.from, "tenantlink <tenantlink@example.net>");
    assert_eq!(email.to, "ops@example.com, Oncall <oncall@example.org>");
    assert_eq!(email.subject, message().subject);
    assert_eq!(email.content_type, "multipart/alternative");
    let normalise = |s: &str| s.replace("\r\n", "\n");
    assert_eq!(
        email.part("text/plain").map(normalise).as_deref(),
        Some(message().text.as_str())
    );
    assert_eq!(
        email.part("text/html").map(normalise).as_deref(),
        Some(message().html.as_str())
    );
    assert!(!email.tls);
    let header = |name: &str| email.raw.lines().any(|line| line.starts_with(name));
    assert!(header("Message-ID: <"), "{}", email.raw);
    assert!(header("Date: "), "{}", email.raw);
}

#[tokio::test]
async fn plain_smtp_to_another_host_is_refused_before_any_connection() {
    for host in ["smtp.example.com", "10.0.0.25"] {
        let err = SmtpSender::new(&settings(host, 25, SmtpSecurity::Plain)).unwrap_err();
        assert_eq!(
            err,
            SmtpSetupError::PlainToRemote {
                host: host.to_owned()
            }
        );
        assert!(err.to_string().contains("starttls"), "{err}");
    }
    for host in ["localhost", "127.0.0.1", "::1"] {
        SmtpSender::new(&settings(host, 25, SmtpSecurity::Plain)).unwrap();
    }
}

#[tokio::test]
async fn an_authenticated_server_accepts_the_right_password_and_refuses_another() {
    let server = SmtpServer::start_with(SmtpServerOptions {
        mode: SmtpServerMode::Plain,
        auth: Some(("notices".to_owned(), "s3cret-pässword".to_owned())),
    });
    let with_password = |password: &str| SmtpSettings {
        auth: Some(SmtpAuth {
            username: "notices".to_owned(),
            password: SecretString::new(password),
        }),
        ..settings(server.host(), server.port(), SmtpSecurity::Plain)
    };

    let err = SmtpSender::new(&with_password("wrong"))
        .unwrap()
        .send(&message())
        .await
        .unwrap_err();
    assert!(err.message.contains("refused"), "{err}");
    assert!(
        err.message.contains("535"),
        "the server's code is named: {err}"
    );
    assert!(!err.message.contains("wrong"), "{err}");
    assert!(server.messages().is_empty());

    SmtpSender::new(&with_password("s3cret-pässword"))
        .unwrap()
        .send(&message())
        .await
        .unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].authenticated_as.as_deref(), Some("notices"));

    let err = SmtpSender::new(&settings(server.host(), server.port(), SmtpSecurity::Plain))
        .unwrap()
        .send(&message())
        .await
        .unwrap_err();
    assert!(
        err.message.contains("refused"),
        "no authentication, no mail: {err}"
    );
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver_over_tls_to_a_server_the_extra_ca_vouches_for() {
    let certificates = TestCertificates::for_localhost();
    for (mode, security) in [
        (
            SmtpServerMode::StartTls {
                cert: certificates.server_cert(),
                key: certificates.server_key(),
            },
            SmtpSecurity::StartTls,
        ),
        (
            SmtpServerMode::Tls {
                cert: certificates.server_cert(),
                key: certificates.server_key(),
            },
            SmtpSecurity::Tls,
        ),
    ] {
        let server = SmtpServer::start_with(SmtpServerOptions {
            mode,
            auth: Some(("notices".to_owned(), "over-tls".to_owned())),
        });
        let trusted = SmtpSettings {
            extra_ca_file: Some(certificates.ca()),
            auth: Some(SmtpAuth {
                username: "notices".to_owned(),
                password: SecretString::new("over-tls"),
            }),
            ..settings("localhost", server.port(), security)
        };
        SmtpSender::new(&trusted)
            .unwrap()
            .send(&message())
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {e}; server log: {}", server.log()));
        let received = server.messages();
        assert_eq!(received.len(), 1, "{security:?}");
        assert!(received[0].tls, "{security:?}");
        assert_eq!(received[0].authenticated_as.as_deref(), Some("notices"));

        // Without the CA, the server's certificate is not trusted: nothing is sent.
        let untrusted = SmtpSettings {
            extra_ca_file: None,
            ..trusted
        };
        let err = SmtpSender::new(&untrusted)
            .unwrap()
            .send(&message())
            .await
            .unwrap_err();
        assert!(
            err.message.starts_with("TLS with the SMTP server"),
            "{security:?}: {err}"
        );
        assert_eq!(server.messages().len(), 1, "{security:?}");
    }
}

#[tokio::test]
async fn starttls_is_required_so_a_server_without_it_gets_nothing() {
    let server = SmtpServer::start();
    let err = SmtpSender::new(&settings(
        "localhost",
        server.port(),
        SmtpSecurity::StartTls,
    ))
    .unwrap()
    .send(&message())
    .await
    .unwrap_err();
    assert!(err.message.contains("localhost:"), "{err}");
    assert!(server.messages().is_empty(), "no clear-text fallback");
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = SmtpSender::new(&settings("127.0.0.1", port, SmtpSecurity::Plain))
        .unwrap()
        .send(&message())
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        format!("connection refused by the SMTP server 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_recipient_that_is_not_an_address_fails_without_sending() {
    let server = SmtpServer::start();
    let sender =
        SmtpSender::new(&settings(server.host(), server.port(), SmtpSecurity::Plain)).unwrap();
    let err = sender
        .send(&EmailMessage {
            to: vec!["not an address".to_owned()],
            ..message()
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("\"not an address\""), "{err}");
    assert!(server.messages().is_empty());
}
