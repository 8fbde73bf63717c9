use super::NoticesConfig;
use crate::cli::serve::config::testing::resolve_with;
use std::time::Duration;
use tenantlink_notify::SmtpSecurity;

/// Resolves with the file (written beside a password file `smtp-password`, for relative paths).
fn resolve(file: Option<&str>, vars: &[(&'static str, &str)]) -> anyhow::Result<NoticesConfig> {
    resolve_with(file, &[("smtp-password", "from-the-file\n")], vars).map(|c| c.notices)
}

fn refusal(file: Option<&str>, vars: &[(&'static str, &str)]) -> String {
    format!("{:#}", resolve(file, vars).unwrap_err())
}

#[test]
fn without_settings_there_is_no_smtp_server_no_public_url_and_the_default_pace() {
    let config = resolve(None, &[]).unwrap();
    assert!(config.smtp.is_none());
    assert!(config.public_url.is_none());
    assert_eq!(config.watch_every, Duration::from_secs(3600));
    assert_eq!(config.dispatch_every, Duration::from_secs(10));
    config.notifier().expect("webhooks only");
}

#[test]
fn the_file_sets_smtp_with_a_password_file_beside_it_and_the_environment_wins() {
    let file = r#"
[notices]
public_url = "https://tenantlink.example.com/"
watch_every_seconds = 600
dispatch_every_seconds = 5

[smtp]
host = "smtp.example.com"
security = "tls"
username = "tenantlink"
password_file = "smtp-password"
from = "tenantlink <tenantlink@example.com>"
timeout_seconds = 30
"#;
    let config = resolve(Some(file), &[]).unwrap();
    assert_eq!(
        config.public_url.as_ref().map(url::Url::as_str),
        Some("https://tenantlink.example.com/")
    );
    assert_eq!(config.watch_every, Duration::from_secs(600));
    assert_eq!(config.dispatch_every, Duration::from_secs(5));
    let smtp = config.smtp.as_ref().expect("an SMTP server");
    assert_eq!(smtp.host, "smtp.example.com");
    assert_eq!(smtp.security, SmtpSecurity::Tls);
    assert_eq!(smtp.port(), 465, "implicit TLS's port by default");
    assert_eq!(smtp.from, "tenantlink <tenantlink@example.com>");
    assert_eq!(smtp.timeout, Duration::from_secs(30));
    let auth = smtp.auth.as_ref().expect("authentication");
    assert_eq!(auth.username, "tenantlink");
    assert_eq!(
        auth.password.expose(),
        "from-the-file",
        "one newline removed"
    );
    config.notifier().expect("a notifier with SMTP");

    let overridden = resolve(
        Some(file),
        &[
            ("TENANTLINK_SMTP_HOST", "relay.example.org"),
            ("TENANTLINK_SMTP_PORT", "2525"),
            ("TENANTLINK_SMTP_SECURITY", "starttls"),
            ("TENANTLINK_SMTP_PASSWORD", "from-the-environment"),
            (
                "TENANTLINK_NOTICES_PUBLIC_URL",
                "https://other.example.com/portal/",
            ),
        ],
    )
    .unwrap();
    let smtp = overridden.smtp.unwrap();
    assert_eq!(smtp.host, "relay.example.org");
    assert_eq!(smtp.port(), 2525);
    assert_eq!(smtp.security, SmtpSecurity::StartTls);
    assert_eq!(smtp.auth.unwrap().password.expose(), "from-the-environment");
    assert_eq!(
        overridden.public_url.unwrap().as_str(),
        "https://other.example.com/portal/"
    );
}

#[test]
fn starttls_on_587_is_the_default_and_the_environment_alone_is_enough() {
    let config = resolve(
        None,
        &[
            ("TENANTLINK_SMTP_HOST", "smtp.example.com"),
            ("TENANTLINK_SMTP_FROM", "notices@example.com"),
        ],
    )
    .unwrap();
    let smtp = config.smtp.unwrap();
    assert_eq!(smtp.security, SmtpSecurity::StartTls);
    assert_eq!(smtp.port(), 587);
    assert!(smtp.auth.is_none());
}

#[test]
fn plain_smtp_is_refused_to_another_host_and_allowed_to_this_one() {
    let message = refusal(
        Some(
            "[smtp]\nhost = \"smtp.example.com\"\nsecurity = \"plain\"\nfrom = \"a@example.com\"\n",
        ),
        &[],
    );
    assert!(
        message.contains("the SMTP server set by `smtp.host` in "),
        "{message}"
    );
    assert!(
        message.contains("plain SMTP (no TLS) is only allowed to a relay on this machine"),
        "{message}"
    );
    let config = resolve(
        Some("[smtp]\nhost = \"localhost\"\nsecurity = \"plain\"\nfrom = \"a@example.com\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(config.smtp.unwrap().port(), 25);
}

#[test]
fn incomplete_or_wrong_smtp_settings_are_refused_naming_what_to_set() {
    let host = ("TENANTLINK_SMTP_HOST", "smtp.example.com");
    let from = ("TENANTLINK_SMTP_FROM", "a@example.com");
    for (file, vars, expected) in [
        (
            None,
            vec![host],
            "the SMTP server is set (TENANTLINK_SMTP_HOST) but not the notices' sender: set `smtp.from`",
        ),
        (
            None,
            vec![from],
            "an SMTP setting is given (TENANTLINK_SMTP_FROM) but no SMTP host",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_USERNAME", "u")],
            "an SMTP user name is set (TENANTLINK_SMTP_USERNAME) but no password",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_PASSWORD", "p")],
            "an SMTP password is set but no user name",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_SECURITY", "ssl")],
            "\"ssl\" is not an SMTP security mode: use starttls, tls or plain (TENANTLINK_SMTP_SECURITY)",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_PORT", "0")],
            "SMTP port 0 (TENANTLINK_SMTP_PORT) is not a port",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_PORT", "70000")],
            "TENANTLINK_SMTP_PORT=\"70000\" is not valid",
        ),
        (
            None,
            vec![host, ("TENANTLINK_SMTP_FROM", "not a mailbox")],
            "the SMTP from address \"not a mailbox\" is not a mailbox",
        ),
        (
            None,
            vec![
                host,
                from,
                ("TENANTLINK_SMTP_PASSWORD", "p"),
                ("TENANTLINK_SMTP_PASSWORD_FILE", "/x"),
            ],
            "set either TENANTLINK_SMTP_PASSWORD or TENANTLINK_SMTP_PASSWORD_FILE, not both",
        ),
        (
            None,
            vec![host, from, ("TENANTLINK_SMTP_TIMEOUT_SECONDS", "0")],
            "an SMTP timeout in seconds of 0 (TENANTLINK_SMTP_TIMEOUT_SECONDS) is out of range: use 1 to 120",
        ),
        (
            Some("[smtp]\npassword = \"hunter2\"\n"),
            vec![],
            "key `smtp.password`: unknown field `password`",
        ),
        (
            Some("[notices]\npublic_url = \"tenantlink.example.com\"\n"),
            vec![],
            "the public URL \"tenantlink.example.com\" (`notices.public_url` in ",
        ),
        (
            None,
            vec![("TENANTLINK_NOTICES_PUBLIC_URL", "ftp://example.com/")],
            "must be an http(s) URL with a host",
        ),
        (
            None,
            vec![("TENANTLINK_NOTICES_DISPATCH_EVERY_SECONDS", "0")],
            "a notice dispatch interval in seconds of 0 (TENANTLINK_NOTICES_DISPATCH_EVERY_SECONDS) is out of range: use 1 to 600",
        ),
        (
            None,
            vec![("TENANTLINK_NOTICES_WATCH_EVERY_SECONDS", "4")],
            "a notice watch interval in seconds of 4 (TENANTLINK_NOTICES_WATCH_EVERY_SECONDS) is out of range: use 5 to 86400",
        ),
    ] {
        let message = refusal(file, &vars);
        assert!(message.contains(expected), "{expected}\n  got: {message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[test]
fn a_missing_password_file_is_named() {
    let message = refusal(
        None,
        &[
            ("TENANTLINK_SMTP_HOST", "smtp.example.com"),
            ("TENANTLINK_SMTP_FROM", "a@example.com"),
            ("TENANTLINK_SMTP_USERNAME", "u"),
            (
                "TENANTLINK_SMTP_PASSWORD_FILE",
                "/nonexistent/smtp-password",
            ),
        ],
    );
    assert!(
        message.contains("read /nonexistent/smtp-password (TENANTLINK_SMTP_PASSWORD_FILE)"),
        "{message}"
    );
}

#[test]
fn a_missing_ca_file_stops_the_notifier_with_its_name() {
    let config = resolve(
        None,
        &[
            ("TENANTLINK_SMTP_HOST", "smtp.example.com"),
            ("TENANTLINK_SMTP_FROM", "a@example.com"),
            ("TENANTLINK_SMTP_CA_FILE", "/nonexistent/ca.pem"),
        ],
    )
    .unwrap();
    let message = format!("{:#}", config.notifier().unwrap_err());
    assert!(
        message.contains("cannot use the SMTP CA file /nonexistent/ca.pem"),
        "{message}"
    );
}
