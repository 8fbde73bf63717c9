use super::MetricsSettings;
use crate::cli::serve::config::testing::resolve_with;

fn resolve(file: Option<&str>, vars: &[(&'static str, &str)]) -> anyhow::Result<MetricsSettings> {
    resolve_with(file, &[("token", "s3cret\n")], vars).map(|c| c.metrics)
}

#[test]
fn metrics_are_off_without_a_token_or_an_address_of_their_own() {
    let settings = resolve(None, &[]).unwrap();
    assert!(!settings.served());
}

#[test]
fn the_token_file_is_read_relative_to_the_file_and_its_newline_dropped() {
    let settings = resolve(Some("[metrics]\nbearer_token_file = \"token\"\n"), &[]).unwrap();
    assert_eq!(settings.bearer_token.unwrap().expose(), "s3cret");
    assert_eq!(settings.listen, None);
}

#[test]
fn the_environment_sets_the_address_and_the_token() {
    let settings = resolve(
        None,
        &[
            ("TENANTLINK_METRICS_LISTEN", "127.0.0.1:9464"),
            ("TENANTLINK_METRICS_BEARER_TOKEN", "t0ken"),
        ],
    )
    .unwrap();
    assert_eq!(settings.listen, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(settings.bearer_token.unwrap().expose(), "t0ken");
    assert!(resolve(None, &[("TENANTLINK_METRICS_LISTEN", "nowhere")]).is_err());
}

#[test]
fn an_inline_token_in_the_file_is_refused_as_an_unknown_key() {
    let refused = resolve(Some("[metrics]\nbearer_token = \"inline\"\n"), &[]).unwrap_err();
    assert!(
        format!("{refused:#}").contains("bearer_token"),
        "{refused:#}"
    );
}
