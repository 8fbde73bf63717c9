//! `tenantlink sandbox` as a process: it announces itself, writes sandbox.json, and explains bad input.

mod sandbox_process;

use sandbox_process::Sandbox;
use std::process::Command;

#[test]
fn starts_on_an_ephemeral_port_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("state"));
    let info = &sandbox.info;
    let authority = info["authority"].as_str().unwrap();
    assert_eq!(
        sandbox.first_line,
        format!("sandbox tenant listening at {authority}")
    );
    assert!(authority.starts_with("https://127.0.0.1:") && !authority.ends_with(":0"));
    assert_eq!(info["control_base"], format!("{authority}/_sandbox"));
    assert_eq!(info["users"].as_array().unwrap().len(), 2);
}

#[test]
fn a_broken_config_file_is_reported_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"tenants": [{"domain": "x", "users": [{"alias": "a@b"}]}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tenantlink"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: sandbox: the sandbox config file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("user alias \"a@b\" must be the part before '@'"),
        "{stderr}"
    );
}
