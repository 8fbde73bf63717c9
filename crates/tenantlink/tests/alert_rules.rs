//! The example alert rules (docs/alerts/tenantlink-rules.yml) are valid Prometheus rules, name
//! only metrics tenantlink exports, and fire as their unit tests expect: checked and tested by
//! Prometheus' own `promtool` (installed by scripts/setup-test-env).

use std::path::PathBuf;
use std::process::Command;

fn alerts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/alerts")
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(alerts_dir())
        .output()
        .expect("promtool (Debian package prometheus; scripts/setup-test-env installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}: {text}");
    text
}

#[test]
fn the_example_rules_are_valid_and_fire_as_their_unit_tests_expect() {
    let checked = promtool(&["check", "rules", "tenantlink-rules.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "tenantlink-rules.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn the_rules_name_only_metrics_that_docs_metrics_md_lists() {
    let rules = std::fs::read_to_string(alerts_dir().join("tenantlink-rules.yml")).unwrap();
    let documented = std::fs::read_to_string(alerts_dir().join("../metrics.md")).unwrap();
    let named: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("tenantlink_"))
        .collect();
    assert!(!named.is_empty());
    for metric in named {
        assert!(
            documented.contains(&format!("`{metric}`")),
            "{metric} is used by the rules but not listed in docs/metrics.md"
        );
    }
}
