use super::*;
use layers::MapEnv;
use std::path::Path;
use tenantlink_certificate::RsaKeySize;

fn env(vars: &[(&'static str, &str)]) -> MapEnv {
    MapEnv::of(vars)
}

fn args() -> ServeArgs {
    ServeArgs {
        config: None,
        listen: None,
        data_dir: None,
        database_url: None,
        tls_cert: None,
        tls_key: None,
    }
}

fn with_file(dir: &Path, text: &str) -> ServeArgs {
    let path = dir.join("tenantlink.toml");
    std::fs::write(&path, text).unwrap();
    ServeArgs {
        config: Some(path),
        ..args()
    }
}

fn error(args: &ServeArgs, env: &MapEnv) -> String {
    format!("{:#}", ServeConfig::resolve(args, env).unwrap_err())
}

#[test]
fn flags_override_environment_which_overrides_the_file_which_overrides_defaults() {
    let empty = env(&[]);
    let defaults = ServeConfig::resolve(&args(), &empty).unwrap();
    assert_eq!(defaults.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
    assert_eq!(defaults.data_dir, PathBuf::from("tenantlink-data"));
    assert_eq!(defaults.certificates, CertificateSettings::default());
    assert!(defaults.tls.is_none() && defaults.organization.is_none());

    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "listen = \"127.0.0.1:7000\"\ndata_dir = \"/tmp/from-file\"\n[sandbox]\nlisten = \"127.0.0.1:7443\"\n",
    );
    let from_file = ServeConfig::resolve(&file, &empty).unwrap();
    assert_eq!(from_file.listen.port(), 7000);
    assert_eq!(from_file.sandbox_listen.port(), 7443);
    assert_eq!(from_file.data_dir, PathBuf::from("/tmp/from-file"));
    assert_eq!(from_file.config_file, file.config.clone());

    let vars = env(&[
        ("TENANTLINK_LISTEN", "127.0.0.1:9000"),
        ("TENANTLINK_DATA", "/tmp/from-env"),
    ]);
    let from_env = ServeConfig::resolve(&file, &vars).unwrap();
    assert_eq!(from_env.listen.port(), 9000);
    assert_eq!(from_env.data_dir, PathBuf::from("/tmp/from-env"));
    assert_eq!(from_env.sandbox_listen.port(), 7443, "still from the file");

    let mut flagged = with_file(dir.path(), "listen = \"127.0.0.1:7000\"\n");
    flagged.listen = Some(SocketAddr::from(([127, 0, 0, 1], 9100)));
    flagged.data_dir = Some(PathBuf::from("/tmp/from-flag"));
    let from_flags = ServeConfig::resolve(&flagged, &vars).unwrap();
    assert_eq!(from_flags.listen.port(), 9100);
    assert_eq!(from_flags.data_dir, PathBuf::from("/tmp/from-flag"));
}

#[test]
fn the_config_file_comes_from_the_environment_or_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:7001\"\n").unwrap();
    let vars = env(&[("TENANTLINK_CONFIG", path.to_str().unwrap())]);
    assert_eq!(
        ServeConfig::resolve(&args(), &vars).unwrap().listen.port(),
        7001
    );

    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join(DATA_DIR_CONFIG_FILE),
        "listen = \"127.0.0.1:7002\"\n",
    )
    .unwrap();
    let in_data_dir = ServeArgs {
        data_dir: Some(data.clone()),
        ..args()
    };
    let config = ServeConfig::resolve(&in_data_dir, &env(&[])).unwrap();
    assert_eq!(config.listen.port(), 7002);
    assert_eq!(config.config_file, Some(data.join(DATA_DIR_CONFIG_FILE)));

    // An explicit file wins; the data directory's own file is then not read.
    assert_eq!(
        ServeConfig::resolve(&in_data_dir, &vars)
            .unwrap()
            .listen
            .port(),
        7001
    );

    std::fs::write(data.join(DATA_DIR_CONFIG_FILE), "data_dir = \"/x\"\n").unwrap();
    let e = error(&in_data_dir, &env(&[]));
    assert!(
        e.contains("`data_dir` cannot be set in the data directory's own file"),
        "{e}"
    );
}

#[test]
fn secrets_come_from_the_variable_or_a_file_but_not_both() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "from-file-password\n").unwrap();
    let vars = env(&[("TENANTLINK_ADMIN_PASSWORD_FILE", file.to_str().unwrap())]);
    let config = ServeConfig::resolve(&args(), &vars).unwrap();
    assert_eq!(
        config.admin_password.unwrap().expose(),
        "from-file-password"
    );

    let both = env(&[
        ("TENANTLINK_ADMIN_PASSWORD_FILE", file.to_str().unwrap()),
        ("TENANTLINK_ADMIN_PASSWORD", "x"),
    ]);
    assert!(error(&args(), &both).contains("not both"));

    // The TOML file names secret files only, relative to itself.
    let toml = with_file(
        dir.path(),
        "admin_password_file = \"pw\"\nmaster_key_file = \"keys/master.key\"\n",
    );
    let config = ServeConfig::resolve(&toml, &env(&[])).unwrap();
    assert_eq!(
        config.admin_password.unwrap().expose(),
        "from-file-password"
    );
    match config.master_key {
        MasterKeySource::File { path, origin } => {
            assert_eq!(path, dir.path().join("keys/master.key"));
            assert!(origin.starts_with("`master_key_file` in "), "{origin}");
        }
        other => panic!("{other:?}"),
    }

    let missing = env(&[("TENANTLINK_ADMIN_PASSWORD_FILE", "/nonexistent/pw")]);
    let e = error(&args(), &missing);
    assert!(
        e.contains("/nonexistent/pw (TENANTLINK_ADMIN_PASSWORD_FILE)"),
        "{e}"
    );
}

#[test]
fn certificate_settings_are_bounded_and_errors_name_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[certificates]\nkey_size = 4096\nvalidity_days = 730\nexpiring_soon_days = 60\n",
    );
    let config = ServeConfig::resolve(&file, &env(&[])).unwrap();
    let workflows = config
        .certificates
        .workflows_config(tenantlink_service::DEFAULT_OVERLAP_GRACE);
    assert_eq!(workflows.key_size, RsaKeySize::Rsa4096);
    assert_eq!(workflows.validity_days, 730);
    assert_eq!(workflows.expiring_soon_days, 60);

    let e = error(&file, &env(&[("TENANTLINK_KEY_SIZE", "1024")]));
    assert!(
        e.contains("key size 1024 (TENANTLINK_KEY_SIZE) is not supported: use 2048, 3072 or 4096"),
        "{e}"
    );
    let e = error(&file, &env(&[("TENANTLINK_VALIDITY_DAYS", "0")]));
    assert!(
        e.contains("validity of 0 days (TENANTLINK_VALIDITY_DAYS)"),
        "{e}"
    );
    let other_dir = tempfile::tempdir().unwrap();
    let long = with_file(other_dir.path(), "[certificates]\nvalidity_days = 3651\n");
    let e = error(&long, &env(&[]));
    assert!(
        e.contains("`certificates.validity_days` in ") && e.contains("use 1 to 3650 days"),
        "{e}"
    );
    let e = error(&args(), &env(&[("TENANTLINK_VALIDITY_DAYS", "a year")]));
    assert!(
        e.contains("TENANTLINK_VALIDITY_DAYS=\"a year\" is not valid"),
        "{e}"
    );
    let e = error(&file, &env(&[("TENANTLINK_EXPIRING_SOON_DAYS", "730")]));
    assert!(
        e.contains("warning window of 730 days (TENANTLINK_EXPIRING_SOON_DAYS)")
            && e.contains("shorter than the validity of 730 days"),
        "{e}"
    );
    let e = error(&args(), &env(&[("TENANTLINK_VALIDITY_DAYS", "20")]));
    assert!(e.contains("warning window of 30 days (the default)"), "{e}");
}

#[test]
fn tls_needs_both_files_and_paths_from_the_file_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[tls]\ncert = \"tls/portal.pem\"\nkey = \"/etc/tls/portal.key\"\n",
    );
    let config = ServeConfig::resolve(&file, &env(&[])).unwrap();
    assert_eq!(
        config.tls,
        Some(TlsFiles {
            cert: dir.path().join("tls/portal.pem"),
            key: PathBuf::from("/etc/tls/portal.key"),
        })
    );

    let half = ServeArgs {
        tls_cert: Some(PathBuf::from("/etc/tls/portal.pem")),
        ..args()
    };
    let e = error(&half, &env(&[]));
    assert!(
        e.contains("certificate is set (--tls-cert) but its private key is not"),
        "{e}"
    );
}

#[test]
fn a_real_tenant_is_configured_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[organization]\ntenant = \"contoso.onmicrosoft.com\"\ncloud = \"usgov\"\n",
    );
    let e = error(&file, &env(&[]));
    assert!(e.contains("app id is not"), "{e}");
    let config = ServeConfig::resolve(
        &file,
        &env(&[("TENANTLINK_APP_ID", "11111111-2222-3333-4444-555555555555")]),
    )
    .unwrap();
    let organization = config.organization.expect("a real tenant");
    assert_eq!(organization.tenant.as_str(), "contoso.onmicrosoft.com");
    assert_eq!(organization.cloud, tenantlink_entra::Cloud::UsGov);
}

#[test]
fn the_backup_poll_interval_is_optional_and_bounded() {
    assert_eq!(
        ServeConfig::resolve(&args(), &env(&[]))
            .unwrap()
            .backup_poll_every,
        None,
        "the scheduler's own default"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = with_file(dir.path(), "[backups]\npoll_interval_seconds = 30\n");
    assert_eq!(
        ServeConfig::resolve(&file, &env(&[]))
            .unwrap()
            .backup_poll_every,
        Some(std::time::Duration::from_secs(30))
    );
    let e = error(&file, &env(&[("TENANTLINK_BACKUP_POLL_SECONDS", "0")]));
    assert!(
        e.contains("poll interval of 0 seconds (TENANTLINK_BACKUP_POLL_SECONDS) is out of range"),
        "{e}"
    );
}

#[test]
fn sign_in_throttle_limits_come_from_the_file_or_environment_and_are_bounded() {
    let defaults = ServeConfig::resolve(&args(), &env(&[]))
        .unwrap()
        .sign_in_throttle;
    assert_eq!(defaults.max_failures, 20);
    assert_eq!(defaults.window, time::Duration::minutes(15));
    assert_eq!(defaults.max_tracked, 10_000);

    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[sign_in]\nmax_failures_per_address = 50\naddress_window_minutes = 60\nmax_tracked_addresses = 500\n",
    );
    let from_file = ServeConfig::resolve(&file, &env(&[]))
        .unwrap()
        .sign_in_throttle;
    assert_eq!(from_file.max_failures, 50);
    assert_eq!(from_file.window, time::Duration::minutes(60));
    assert_eq!(from_file.max_tracked, 500);

    let overridden = ServeConfig::resolve(
        &file,
        &env(&[
            ("TENANTLINK_SIGN_IN_MAX_FAILURES", "5"),
            ("TENANTLINK_SIGN_IN_WINDOW_MINUTES", "30"),
            ("TENANTLINK_SIGN_IN_TRACKED_ADDRESSES", "2000"),
        ]),
    )
    .unwrap()
    .sign_in_throttle;
    assert_eq!(overridden.max_failures, 5, "the environment wins");
    assert_eq!(overridden.window, time::Duration::minutes(30));
    assert_eq!(overridden.max_tracked, 2000);

    let e = error(&args(), &env(&[("TENANTLINK_SIGN_IN_MAX_FAILURES", "0")]));
    assert!(
        e.contains("sign-in limit per address of 0 (TENANTLINK_SIGN_IN_MAX_FAILURES) is out of range: use 1 to 1000"),
        "{e}"
    );
    let e = error(
        &with_file(dir.path(), "[sign_in]\naddress_window_minutes = 2000\n"),
        &env(&[]),
    );
    assert!(
        e.contains("`sign_in.address_window_minutes` in") && e.contains("use 1 to 1440"),
        "{e}"
    );
    let e = error(
        &args(),
        &env(&[("TENANTLINK_SIGN_IN_TRACKED_ADDRESSES", "10")]),
    );
    assert!(
        e.contains("(TENANTLINK_SIGN_IN_TRACKED_ADDRESSES) is out of range: use 100 to 1000000"),
        "{e}"
    );
    let e = error(
        &args(),
        &env(&[("TENANTLINK_SIGN_IN_WINDOW_MINUTES", "soon")]),
    );
    assert!(
        e.contains("TENANTLINK_SIGN_IN_WINDOW_MINUTES=\"soon\" is not valid"),
        "{e}"
    );
}

#[test]
fn the_proof_retry_budget_comes_from_the_file_or_environment_and_is_bounded() {
    let defaults = ServeConfig::resolve(&args(), &env(&[]))
        .unwrap()
        .certificates
        .workflows_config(tenantlink_service::DEFAULT_OVERLAP_GRACE)
        .proof;
    assert_eq!(defaults.attempts, 7);
    assert_eq!(defaults.first_delay, std::time::Duration::from_secs(2));
    assert_eq!(defaults.max_delay, std::time::Duration::from_secs(20));

    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[certificates]\nproof_attempts = 12\nproof_first_delay_ms = 5000\nproof_max_delay_ms = 120000\n",
    );
    let from_file = ServeConfig::resolve(&file, &env(&[]))
        .unwrap()
        .certificates
        .workflows_config(tenantlink_service::DEFAULT_OVERLAP_GRACE)
        .proof;
    assert_eq!(from_file.attempts, 12);
    assert_eq!(from_file.first_delay, std::time::Duration::from_secs(5));
    assert_eq!(from_file.max_delay, std::time::Duration::from_secs(120));

    let overridden = ServeConfig::resolve(
        &file,
        &env(&[
            ("TENANTLINK_PROOF_ATTEMPTS", "3"),
            ("TENANTLINK_PROOF_FIRST_DELAY_MS", "10"),
            ("TENANTLINK_PROOF_MAX_DELAY_MS", "40"),
        ]),
    )
    .unwrap()
    .certificates;
    assert_eq!(overridden.proof_attempts, 3, "the environment wins");
    assert_eq!(
        overridden.proof_first_delay,
        std::time::Duration::from_millis(10)
    );
    assert_eq!(
        overridden.proof_max_delay,
        std::time::Duration::from_millis(40)
    );

    // Only a longer first wait: the default longest wait grows with it, never below it.
    let first_only = ServeConfig::resolve(
        &args(),
        &env(&[("TENANTLINK_PROOF_FIRST_DELAY_MS", "30000")]),
    )
    .unwrap()
    .certificates;
    assert_eq!(
        first_only.proof_max_delay,
        std::time::Duration::from_secs(30)
    );

    let e = error(&args(), &env(&[("TENANTLINK_PROOF_ATTEMPTS", "0")]));
    assert!(
        e.contains("token proof budget in attempts of 0 (TENANTLINK_PROOF_ATTEMPTS) is out of range: use 1 to 20"),
        "{e}"
    );
    let e = error(
        &with_file(dir.path(), "[certificates]\nproof_attempts = 21\n"),
        &env(&[]),
    );
    assert!(
        e.contains("`certificates.proof_attempts` in") && e.contains("use 1 to 20"),
        "{e}"
    );
    let e = error(&args(), &env(&[("TENANTLINK_PROOF_FIRST_DELAY_MS", "1")]));
    assert!(
        e.contains("(TENANTLINK_PROOF_FIRST_DELAY_MS) is out of range: use 10 to 600000"),
        "{e}"
    );
    let e = error(
        &with_file(
            dir.path(),
            "[certificates]\nproof_first_delay_ms = 5000\nproof_max_delay_ms = 1000\n",
        ),
        &env(&[]),
    );
    assert!(
        e.contains(
            "longest wait between token proofs, 1000 ms (`certificates.proof_max_delay_ms` in"
        ) && e.contains("use 5000 ms (the first wait) to 600000 ms"),
        "{e}"
    );
    let e = error(
        &args(),
        &env(&[("TENANTLINK_PROOF_MAX_DELAY_MS", "700000")]),
    );
    assert!(
        e.contains("700000 ms (TENANTLINK_PROOF_MAX_DELAY_MS), is out of range: use 2000 ms"),
        "{e}"
    );
    let e = error(&args(), &env(&[("TENANTLINK_PROOF_ATTEMPTS", "many")]));
    assert!(
        e.contains("TENANTLINK_PROOF_ATTEMPTS=\"many\" is not valid"),
        "{e}"
    );
}

#[test]
fn the_database_url_comes_from_a_secret_file_instead_of_argv() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("database-url");
    let url = "postgres://tenantlink:pa55@db.internal/tenantlink?sslmode=verify-full";
    std::fs::write(&file, format!("{url}\n")).unwrap();
    let vars = env(&[("TENANTLINK_DATABASE_URL_FILE", file.to_str().unwrap())]);
    let config = ServeConfig::resolve(&args(), &vars).unwrap();
    assert_eq!(config.database_url(), url);
    assert!(
        !format!("{config:?}").contains("pa55"),
        "the URL is redacted"
    );

    let toml = with_file(dir.path(), "database_url_file = \"database-url\"\n");
    assert_eq!(
        ServeConfig::resolve(&toml, &env(&[]))
            .unwrap()
            .database_url(),
        url
    );
    let both = env(&[
        ("TENANTLINK_DATABASE_URL_FILE", file.to_str().unwrap()),
        ("TENANTLINK_DATABASE_URL", "sqlite://x"),
    ]);
    assert!(error(&args(), &both).contains("not both"));
}

#[test]
fn a_master_key_file_readable_by_group_or_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("master.key");
    let key = tenantlink_store::MasterKey::generate().unwrap();
    std::fs::write(&file, key.to_base64().as_bytes()).unwrap();
    let vars = env(&[("TENANTLINK_MASTER_KEY_FILE", file.to_str().unwrap())]);
    let config = ServeConfig::resolve(&args(), &vars).unwrap();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = format!("{:#}", config.master_key.load().unwrap_err());
        assert_eq!(
            e,
            format!(
                "the master key file (TENANTLINK_MASTER_KEY_FILE) {path} is readable or writable by group or others (mode {mode:o}); run `chmod 600 {path}`",
                path = file.display()
            )
        );
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(config.master_key.load().unwrap().id(), key.id());
}

#[test]
fn the_silence_after_which_an_instance_is_gone_is_configurable_and_bounded() {
    let defaults = ServeConfig::resolve(&args(), &env(&[]))
        .unwrap()
        .certificates
        .workflows_config(tenantlink_service::DEFAULT_OVERLAP_GRACE)
        .holding;
    assert_eq!(defaults.stale_after, std::time::Duration::from_secs(120));
    assert_eq!(defaults.heartbeat_every, std::time::Duration::from_secs(20));

    let dir = tempfile::tempdir().unwrap();
    let file = with_file(
        dir.path(),
        "[certificates]\nholder_stale_after_seconds = 600\n",
    );
    let from_file = ServeConfig::resolve(&file, &env(&[])).unwrap().certificates;
    assert_eq!(
        from_file.holder_stale_after,
        std::time::Duration::from_secs(600)
    );
    let holding = from_file
        .workflows_config(tenantlink_service::DEFAULT_OVERLAP_GRACE)
        .holding;
    assert_eq!(holding.stale_after, std::time::Duration::from_secs(600));
    assert_eq!(
        holding.heartbeat_every,
        std::time::Duration::from_secs(100),
        "several heartbeats per stale period"
    );

    let overridden = ServeConfig::resolve(
        &file,
        &env(&[("TENANTLINK_HOLDER_STALE_AFTER_SECONDS", "45")]),
    )
    .unwrap()
    .certificates;
    assert_eq!(
        overridden.holder_stale_after,
        std::time::Duration::from_secs(45),
        "the environment wins"
    );

    let e = error(
        &args(),
        &env(&[("TENANTLINK_HOLDER_STALE_AFTER_SECONDS", "5")]),
    );
    assert!(
        e.contains("(TENANTLINK_HOLDER_STALE_AFTER_SECONDS) is out of range: use 30 to 3600"),
        "{e}"
    );
}
