//! The layering every `serve` setting goes through: a flag, else a `TENANTLINK_*` variable, else
//! the configuration file, each value remembering where it came from; secrets also from the file
//! a `*_FILE` variable or `*_file` key names. A leaf: the configuration's parts (`config.rs` and
//! its sections, `clouds.rs`, `organization.rs`, `master_key.rs`) import it, never each other
//! for it.

use anyhow::{Context as _, anyhow, bail};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tenantlink_service::SecretString;

/// Where configuration values come from besides flags and the file; a trait so tests can pass
/// a map.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Variables given as a list, for tests.
#[cfg(test)]
#[derive(Debug)]
pub struct MapEnv(std::collections::HashMap<&'static str, String>);

#[cfg(test)]
impl MapEnv {
    pub fn of(vars: &[(&'static str, &str)]) -> Self {
        Self(vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }
}

#[cfg(test)]
impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A resolved value and where it came from (`--listen`, `TENANTLINK_LISTEN`, or the file key).
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: String,
}

/// A secret named directly or through the file holding it.
#[derive(Debug)]
pub enum Secret {
    Value { value: SecretString, origin: String },
    File { path: PathBuf, origin: String },
}

impl Secret {
    /// The secret text; a file's one trailing newline is removed.
    pub fn read(self) -> anyhow::Result<SecretString> {
        match self {
            Self::Value { value, .. } => Ok(value),
            Self::File { path, origin } => read_secret_file(&path, &origin),
        }
    }
}

pub fn read_secret_file(path: &Path, origin: &str) -> anyhow::Result<SecretString> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("read {} ({origin})", path.display()))?,
    );
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(SecretString::new(text))
}

/// Refuses a private key file (the master key, the portal's TLS key) that group or others may
/// read or write, as `DATA_DIR/master.key` is refused: a key file is for the service's account
/// alone. Container secrets can be mounted with mode 0400 (`defaultMode`, compose `mode`).
pub fn refuse_shared_key_file(path: &Path, what: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("read {what} {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{what} {path} is readable or writable by group or others (mode {mode:o}); run `chmod 600 {path}`",
                path = path.display(),
                mode = mode & 0o7777
            );
        }
    }
    Ok(())
}

/// The environment and the configuration file, looked up in that order.
pub struct Layers<'a> {
    pub env: &'a dyn Env,
    pub file: Option<&'a Path>,
}

impl Layers<'_> {
    /// Flag, else environment variable (parsed), else file value.
    pub fn pick<T: FromStr>(
        &self,
        flag: Option<T>,
        flag_name: &str,
        var: &str,
        file: Option<T>,
        key: &str,
    ) -> anyhow::Result<Option<Sourced<T>>>
    where
        T::Err: Display,
    {
        if let Some(value) = flag {
            return Ok(Some(Sourced {
                value,
                origin: flag_name.to_owned(),
            }));
        }
        if let Some(text) = self.env.var(var) {
            let value = text
                .parse()
                .map_err(|e| anyhow!("{var}={text:?} is not valid: {e}"))?;
            return Ok(Some(Sourced {
                value,
                origin: var.to_owned(),
            }));
        }
        Ok(file.map(|value| Sourced {
            value,
            origin: self.file_origin(key),
        }))
    }

    /// The environment's or the file's value of one integer setting, refused outside `range`.
    pub fn bounded(
        &self,
        var: &str,
        file_value: Option<u32>,
        key: &str,
        range: &std::ops::RangeInclusive<u32>,
        what: &str,
    ) -> anyhow::Result<Option<u32>> {
        match self.pick(None, "", var, file_value, key)? {
            Some(s) if !range.contains(&s.value) => bail!(
                "{what} of {} ({}) is out of range: use {} to {}",
                s.value,
                s.origin,
                range.start(),
                range.end()
            ),
            Some(s) => Ok(Some(s.value)),
            None => Ok(None),
        }
    }

    /// `VAR` or the file named by `VAR_FILE` (not both), else the file's `key` / `key_file`.
    pub fn secret(
        &self,
        var: &str,
        file_value: Option<String>,
        file_path: Option<PathBuf>,
        key: &str,
    ) -> anyhow::Result<Option<Secret>> {
        let file_var = format!("{var}_FILE");
        match (self.env.var(var), self.env.var(&file_var)) {
            (Some(_), Some(_)) => bail!("set either {var} or {file_var}, not both"),
            (Some(value), None) => {
                return Ok(Some(Secret::Value {
                    value: SecretString::new(value),
                    origin: var.to_owned(),
                }));
            }
            (None, Some(path)) => {
                return Ok(Some(Secret::File {
                    path: PathBuf::from(path),
                    origin: file_var,
                }));
            }
            (None, None) => {}
        }
        match (file_value, file_path) {
            (Some(_), Some(_)) => bail!(
                "{}: set either `{key}` or `{key}_file`, not both",
                self.file_origin(key)
            ),
            (Some(value), None) => Ok(Some(Secret::Value {
                value: SecretString::new(value),
                origin: self.file_origin(key),
            })),
            (None, Some(path)) => Ok(Some(Secret::File {
                path,
                origin: self.file_origin(&format!("{key}_file")),
            })),
            (None, None) => Ok(None),
        }
    }

    /// Relative paths in the file are relative to the file's directory.
    pub fn path(&self, path: Option<PathBuf>) -> Option<PathBuf> {
        let path = path?;
        match self.file.and_then(Path::parent) {
            Some(dir) if path.is_relative() => Some(dir.join(path)),
            _ => Some(path),
        }
    }

    pub fn file_origin(&self, key: &str) -> String {
        match self.file {
            Some(file) => format!("`{key}` in {}", file.display()),
            None => format!("`{key}`"),
        }
    }
}
