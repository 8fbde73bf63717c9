//! What the tests of every `[section]` share: resolving the whole configuration from a file's
//! text and a set of environment variables, with side files beside the configuration file (so
//! that relative `*_file` paths resolve as they would in production).

use super::ServeConfig;
use super::layers::MapEnv;
use crate::cli::serve::ServeArgs;

/// `ServeConfig::resolve` with no flags, the file `tenantlink.toml` holding `file` (none when
/// `None`), each `(name, contents)` of `side_files` written beside it, and `vars` as the
/// environment.
pub(super) fn resolve_with(
    file: Option<&str>,
    side_files: &[(&str, &str)],
    vars: &[(&'static str, &str)],
) -> anyhow::Result<ServeConfig> {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in side_files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    let path = file.map(|text| {
        let path = dir.path().join("tenantlink.toml");
        std::fs::write(&path, text).unwrap();
        path
    });
    let args = ServeArgs {
        config: path,
        listen: None,
        data_dir: None,
        database_url: None,
        tls_cert: None,
        tls_key: None,
    };
    ServeConfig::resolve(&args, &MapEnv::of(vars))
}
