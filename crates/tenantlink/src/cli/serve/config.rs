//! Configuration of `tenantlink serve`: defaults, then `TENANTLINK_*` environment (secrets also
//! as `*_FILE`), then flags.

use super::ServeArgs;
use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use tenantlink_service::SecretString;
use tenantlink_store::MasterKey;

/// Where configuration values come from besides flags; a trait so tests can pass a map.
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

#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub sandbox_listen: SocketAddr,
    pub admin_password: Option<SecretString>,
    pub master_key: Option<SecretString>,
}

impl ServeConfig {
    pub fn resolve(args: &ServeArgs, env: &dyn Env) -> anyhow::Result<Self> {
        let listen = match (&args.listen, env.var("TENANTLINK_LISTEN")) {
            (Some(flag), _) => *flag,
            (None, Some(text)) => text.parse().with_context(|| {
                format!("TENANTLINK_LISTEN={text:?} is not an address like 127.0.0.1:8080")
            })?,
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let sandbox_listen = match env.var("TENANTLINK_SANDBOX_LISTEN") {
            Some(text) => text.parse().with_context(|| {
                format!("TENANTLINK_SANDBOX_LISTEN={text:?} is not an address like 127.0.0.1:8443")
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| env.var("TENANTLINK_DATA").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("tenantlink-data"));
        let database_url = args.database_url.clone().or_else(|| {
            secret(env, "TENANTLINK_DATABASE_URL")
                .ok()
                .flatten()
                .map(|s| s.expose().to_owned())
        });
        Ok(Self {
            listen,
            data_dir,
            database_url,
            sandbox_listen,
            admin_password: secret(env, "TENANTLINK_ADMIN_PASSWORD")?,
            master_key: secret(env, "TENANTLINK_MASTER_KEY")?,
        })
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tenantlink.db").display()
            )
        })
    }

    /// The configured master key, or the one in the data directory (generated with mode 0600
    /// on first start).
    pub fn master_key(&self) -> anyhow::Result<MasterKey> {
        Ok(match &self.master_key {
            Some(text) => MasterKey::from_base64(text.expose(), "TENANTLINK_MASTER_KEY")?,
            None => MasterKey::load_or_generate(&self.data_dir)?,
        })
    }
}

/// `NAME` or the contents of the file named by `NAME_FILE` (one trailing newline removed).
fn secret(env: &dyn Env, name: &str) -> anyhow::Result<Option<SecretString>> {
    let file_var = format!("{name}_FILE");
    match (env.var(name), env.var(&file_var)) {
        (Some(_), Some(_)) => bail!("set either {name} or {file_var}, not both"),
        (Some(value), None) => Ok(Some(SecretString::new(value))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("read {file_var} ({path})"))?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            Ok(Some(SecretString::new(text)))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, String>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn args() -> ServeArgs {
        ServeArgs {
            listen: None,
            data_dir: None,
            database_url: None,
        }
    }

    #[test]
    fn flags_override_environment_which_overrides_defaults() {
        let defaults = ServeConfig::resolve(&args(), &MapEnv(HashMap::new())).unwrap();
        assert_eq!(defaults.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(defaults.data_dir, PathBuf::from("tenantlink-data"));

        let env = MapEnv(HashMap::from([
            ("TENANTLINK_LISTEN", "127.0.0.1:9000".to_owned()),
            ("TENANTLINK_DATA", "/tmp/from-env".to_owned()),
        ]));
        let from_env = ServeConfig::resolve(&args(), &env).unwrap();
        assert_eq!(from_env.listen.port(), 9000);
        assert_eq!(from_env.data_dir, PathBuf::from("/tmp/from-env"));

        let mut flagged = args();
        flagged.listen = Some(SocketAddr::from(([127, 0, 0, 1], 9100)));
        flagged.data_dir = Some(PathBuf::from("/tmp/from-flag"));
        let from_flags = ServeConfig::resolve(&flagged, &env).unwrap();
        assert_eq!(from_flags.listen.port(), 9100);
        assert_eq!(from_flags.data_dir, PathBuf::from("/tmp/from-flag"));
    }

    #[test]
    fn secrets_come_from_the_variable_or_its_file_but_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file-password\n").unwrap();
        let env = MapEnv(HashMap::from([(
            "TENANTLINK_ADMIN_PASSWORD_FILE",
            file.display().to_string(),
        )]));
        let config = ServeConfig::resolve(&args(), &env).unwrap();
        assert_eq!(
            config.admin_password.unwrap().expose(),
            "from-file-password"
        );

        let both = MapEnv(HashMap::from([
            ("TENANTLINK_ADMIN_PASSWORD_FILE", file.display().to_string()),
            ("TENANTLINK_ADMIN_PASSWORD", "x".to_owned()),
        ]));
        let err = ServeConfig::resolve(&args(), &both).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }
}
