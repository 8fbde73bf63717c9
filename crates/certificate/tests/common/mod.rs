//! Shared fixture access: runs `scripts/make-test-pfx.py` once per test process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

#[derive(Debug)]
pub struct Fixtures {
    pub dir: PathBuf,
    pub entries: Vec<Value>,
}

impl Fixtures {
    pub fn bytes(&self, entry: &Value) -> Vec<u8> {
        let name = entry["file"]
            .as_str()
            .expect("manifest entry has a file name");
        std::fs::read(self.dir.join(name)).expect("fixture file exists")
    }

    pub fn entry(&self, file: &str) -> &Value {
        self.entries
            .iter()
            .find(|e| e["file"] == file)
            .unwrap_or_else(|| panic!("{file} is in the manifest"))
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test python: $TENANTLINK_PYTHON, else the workspace venv. Missing python is a failure.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TENANTLINK_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no test python at {} and TENANTLINK_PYTHON is unset: run `scripts/test` (it creates the venv)",
        venv.display()
    );
    venv
}

pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(concat!("pfx-fixtures-", env!("CARGO_CRATE_NAME")));
        let _ = std::fs::remove_dir_all(&dir);
        let output = Command::new(python())
            .arg(workspace_root().join("scripts/make-test-pfx.py"))
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the test python ({e}): run `scripts/test` (it creates .venv) or set TENANTLINK_PYTHON"));
        assert!(
            output.status.success(),
            "scripts/make-test-pfx.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(dir.join("manifest.json")).expect("manifest written"),
        )
        .expect("manifest is JSON");
        let entries = manifest["files"]
            .as_array()
            .expect("manifest lists files")
            .clone();
        Fixtures { dir, entries }
    })
}
