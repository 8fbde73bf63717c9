//! Whatever is formatted, the secret's value never shows; only `expose` gives it.

use tenantlink_secret::{REDACTED, SecretString};

const VALUE: &str = "eyJ.s3cr3t-value.that-must-not-show";

#[test]
fn debug_and_display_never_show_the_value() {
    let secret = SecretString::new(VALUE);
    for shown in [
        format!("{secret:?}"),
        format!("{secret:#?}"),
        format!("{secret}"),
        format!("{secret:>60}"),
        format!("{:?}", Some(&secret)),
        format!("{:?}", vec![secret.clone()]),
    ] {
        assert!(!shown.contains(VALUE), "secret visible in: {shown}");
        assert!(
            !shown.contains("s3cr3t"),
            "part of the secret visible in: {shown}"
        );
        assert!(shown.contains(REDACTED), "no redaction marker in: {shown}");
    }
    assert_eq!(format!("{secret:?}"), "SecretString(<redacted>)");
    assert_eq!(format!("{secret}"), "<redacted>");
}

#[test]
fn the_redaction_does_not_depend_on_the_value() {
    let short = SecretString::new("a");
    let long = SecretString::new("a".repeat(4096));
    assert_eq!(
        format!("{short:?}"),
        format!("{long:?}"),
        "not even the length shows"
    );
    assert_eq!(format!("{short}"), format!("{long}"));
}

#[test]
fn expose_gives_the_value_and_clones_keep_it() {
    let secret = SecretString::from(VALUE);
    let copy = secret.clone();
    drop(secret);
    assert_eq!(copy.expose(), VALUE);
    assert_eq!(SecretString::from(VALUE.to_owned()).expose(), VALUE);
    assert!(SecretString::new("").is_empty());
    assert!(SecretString::default().is_empty());
    assert!(!copy.is_empty());
}
