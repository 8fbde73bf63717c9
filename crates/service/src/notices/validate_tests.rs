use super::*;
use crate::notices::EmailMode;

fn refused_field(result: ServiceResult<impl std::fmt::Debug>) -> String {
    match result {
        Err(ServiceError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn webhook_urls_are_https_or_http_to_loopback_only() {
    for ok in [
        "https://hooks.example.com/tenantlink",
        "  https://hooks.example.com:8443/a?b=c ",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]:9000/",
        "http://127.5.6.7/",
    ] {
        assert!(webhook_url(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        webhook_url("https://Hooks.Example.com").unwrap(),
        "https://hooks.example.com/"
    );
    for bad in [
        "",
        "hooks.example.com/x",
        "http://hooks.example.com/x",
        "http://10.0.0.1/x",
        "http://localhost.evil.com/x",
        "ftp://hooks.example.com/",
        "https://user:pass@hooks.example.com/",
        "https://hooks.example.com/#frag",
        "file:///etc/passwd",
    ] {
        assert_eq!(refused_field(webhook_url(bad)), "url", "{bad}");
    }
    let long = format!("https://h.example/{}", "a".repeat(MAX_URL_BYTES));
    assert_eq!(refused_field(webhook_url(&long)), "url");
}

#[test]
fn event_types_are_required_but_may_be_explicitly_none() {
    assert_eq!(
        refused_field(event_types("event_types", None)),
        "event_types"
    );
    assert_eq!(event_types("event_types", Some(&[])).unwrap(), []);
    assert_eq!(
        event_types(
            "event_types",
            Some(&[
                EventType::RotationFailed,
                EventType::CertificateExpiring,
                EventType::RotationFailed
            ])
        )
        .unwrap(),
        [EventType::CertificateExpiring, EventType::RotationFailed]
    );
    assert_eq!(
        refused_field(event_types("event_types", Some(&[EventType::Test]))),
        "event_types"
    );
}

#[test]
fn addresses_look_like_addresses() {
    for ok in [
        "ops@example.com",
        "a.b+tag@sub.example.co.uk",
        "root@localhost",
    ] {
        assert!(looks_like_address(ok), "{ok}");
    }
    for bad in [
        "",
        "ops",
        "@example.com",
        "ops@",
        "ops@@example.com",
        "ops@example..com",
        "a b@example.com",
        "ops@example.com, dev@example.com",
        "<ops@example.com>",
        "ops@-example.com",
    ] {
        assert!(!looks_like_address(bad), "{bad}");
    }
    assert_eq!(
        recipients(
            "recipients",
            &[" ops@example.com ".into(), "OPS@example.com".into()]
        )
        .unwrap(),
        ["ops@example.com"]
    );
    assert_eq!(
        refused_field(recipients("recipients", &["nobody".into()])),
        "recipients"
    );
    let many: Vec<String> = (0..=MAX_RECIPIENTS)
        .map(|n| format!("u{n}@example.com"))
        .collect();
    assert_eq!(refused_field(recipients("recipients", &many)), "recipients");
}

fn settings_with(thresholds: &[u32]) -> NoticeSettings {
    NoticeSettings {
        expiry_thresholds_days: thresholds.to_vec(),
        default_recipients: vec!["ops@example.com".into()],
        email_mode: EmailMode::DailyDigest,
        digest_hour_utc: 7,
        email_event_types: vec![EventType::CertificateExpiring],
    }
}

#[test]
fn thresholds_are_sorted_distinct_bounded_and_few() {
    assert_eq!(
        settings(&settings_with(&[1, 30, 7, 14]))
            .unwrap()
            .expiry_thresholds_days,
        [30, 14, 7, 1]
    );
    assert_eq!(
        settings(&settings_with(&[365, 1]))
            .unwrap()
            .expiry_thresholds_days,
        [365, 1]
    );
    for bad in [
        &[][..],
        &[0][..],
        &[366][..],
        &[7, 7][..],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11][..],
    ] {
        assert_eq!(
            refused_field(settings(&settings_with(bad))),
            "expiry_thresholds_days",
            "{bad:?}"
        );
    }
    let mut late = settings_with(&[7]);
    late.digest_hour_utc = 24;
    assert_eq!(refused_field(settings(&late)), "digest_hour_utc");
    let mut wrong = settings_with(&[7]);
    wrong.default_recipients = vec!["not an address".into()];
    assert_eq!(refused_field(settings(&wrong)), "default_recipients");
    let mut test = settings_with(&[7]);
    test.email_event_types = vec![EventType::Test];
    assert_eq!(refused_field(settings(&test)), "email_event_types");
}
