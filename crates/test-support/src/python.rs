//! The test Python: `TENANTLINK_PYTHON`, else the workspace's `.venv` (`scripts/test` creates
//! it from `scripts/requirements-test.txt`). Missing Python is a failure, not a skip.

use std::path::{Path, PathBuf};

pub const PYTHON_VARIABLE: &str = "TENANTLINK_PYTHON";

pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os(PYTHON_VARIABLE).filter(|p| !p.is_empty()) {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "no test Python at {} and {PYTHON_VARIABLE} is unset: run scripts/test (it creates the venv) or set {PYTHON_VARIABLE}",
        venv.display()
    );
    venv
}
