//! Interruptions at every step of a rotation, on a real SQLite store: nothing is lost, serve
//! refuses an unfinished rotation, and running the command again finishes it.

use super::*;
use std::cell::Cell;
use tenantlink_service::{CertificateId, CertificateSource, NewOrganization};
use tenantlink_store::NewCertificate;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-27 12:00:00 UTC);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Pending,
    Backup,
    Promote,
}

/// Real files, except that `fail` makes one step return an I/O error.
struct Failing {
    inner: FileSteps,
    fail: Cell<Option<Step>>,
}

impl Failing {
    fn check(&self, step: Step) -> std::io::Result<()> {
        if self.fail.get() == Some(step) {
            return Err(std::io::Error::other(format!(
                "injected failure at {step:?}"
            )));
        }
        Ok(())
    }
}

impl KeySteps for Failing {
    fn files(&self) -> &KeyFiles {
        self.inner.files()
    }
    fn write_pending(&self, key: &MasterKey) -> std::io::Result<()> {
        self.check(Step::Pending)?;
        self.inner.write_pending(key)
    }
    fn write_backup(&self, key: &MasterKey, path: &Path) -> std::io::Result<()> {
        self.check(Step::Backup)?;
        self.inner.write_backup(key, path)
    }
    fn promote_pending(&self) -> std::io::Result<()> {
        self.check(Step::Promote)?;
        self.inner.promote_pending()
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove(path)
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    source: MasterKeySource,
    /// (certificate, plaintext private key)
    secrets: Vec<(CertificateId, Vec<u8>)>,
}

impl Fixture {
    async fn new() -> Self {
        Self::with_certificates_per_organization(1).await
    }

    async fn with_certificates_per_organization(count: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let source = MasterKeySource::DataDir(dir.path().to_owned());
        let key = source.load().unwrap();
        let store = Store::open_sqlite_file(&dir.path().join("t.db"), &Default::default())
            .await
            .unwrap();
        let mut secrets = Vec::new();
        for tenant in ["a.example", "b.example"] {
            let org = store
                .create_organization(
                    NewOrganization {
                        tenant: tenant.into(),
                        cloud: tenantlink_service::Cloud::Global,
                        app_id: "11111111-2222-3333-4444-555555555555".into(),
                        name: tenant.into(),
                    },
                    NOW,
                )
                .await
                .unwrap();
            for _ in 0..count {
                let plaintext = uuid::Uuid::new_v4().as_bytes().repeat(8);
                let record = store
                    .insert_certificate(
                        &key,
                        NewCertificate {
                            organization: org.id,
                            // Unique per certificate, as real thumbprints are.
                            sha1: plaintext[..20].try_into().unwrap(),
                            sha256: plaintext[16..48].try_into().unwrap(),
                            subject: "CN=t".into(),
                            not_before: NOW,
                            not_after: NOW + time::Duration::days(30),
                            source: CertificateSource::Generated,
                            der: vec![0x30, 0x00],
                            private_key_pkcs8: &plaintext,
                        },
                        NOW,
                    )
                    .await
                    .unwrap();
                secrets.push((record.id, plaintext));
            }
        }
        Self {
            dir,
            store,
            source,
            secrets,
        }
    }

    fn files(&self) -> KeyFiles {
        KeyFiles::new(self.source.key_file().unwrap())
    }

    fn steps(&self, fail: Option<Step>) -> Failing {
        Failing {
            inner: FileSteps(self.files()),
            fail: Cell::new(fail),
        }
    }

    fn key_on_disk(&self) -> MasterKey {
        MasterKey::load(self.files().active()).unwrap()
    }

    async fn rotate(&self, fail: Option<Step>) -> anyhow::Result<Report> {
        let old = self.key_on_disk();
        rotate(&self.store, &self.steps(fail), &old, None, false, NOW).await
    }

    /// Every private key decrypts, to its original bytes, with the key `serve` would load.
    async fn assert_serve_key_opens_everything(&self) {
        let key = self.source.load().expect("serve loads the key");
        check_opens(&self.store, &key, &self.secrets).await;
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("master.key"))
            .collect();
        names.sort();
        names
    }
}

async fn check_opens(store: &Store, key: &MasterKey, secrets: &[(CertificateId, Vec<u8>)]) {
    for (id, plaintext) in secrets {
        let opened = store.certificate_private_key(key, *id).await.unwrap();
        assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}

#[tokio::test]
async fn a_rotation_re_encrypts_everything_replaces_the_key_file_and_removes_the_backup() {
    let fixture = Fixture::new().await;
    let old = fixture.key_on_disk();
    let report = fixture.rotate(None).await.unwrap();
    assert_eq!(report.re_encrypted, 2);
    assert!(!report.resumed && report.kept_backup.is_none());
    let new = fixture.key_on_disk();
    assert_eq!(new.id(), report.new_id);
    assert_ne!(new.id(), old.id());
    assert_eq!(fixture.names(), ["master.key"]);
    fixture.assert_serve_key_opens_everything().await;
    let err = crate::cli::serve::master_key::check_opens_stored_keys(
        &fixture.store,
        &old,
        &MasterKeySource::Inline {
            value: tenantlink_service::SecretString::new(old.to_base64().as_str()),
            origin: "TENANTLINK_MASTER_KEY".into(),
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!(
            "master key from TENANTLINK_MASTER_KEY (id {}) does not open the stored private keys, which are encrypted under master key {}",
            old.id(),
            new.id()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_failure_before_the_database_changes_nothing() {
    for step in [Step::Pending, Step::Backup] {
        let fixture = Fixture::new().await;
        let old = fixture.key_on_disk();
        let err = fixture.rotate(Some(step)).await.unwrap_err().to_string();
        assert!(err.contains("nothing was changed"), "{step:?}: {err}");
        assert_eq!(fixture.names(), ["master.key"], "{step:?}: no leftovers");
        assert_eq!(fixture.key_on_disk().id(), old.id());
        fixture.assert_serve_key_opens_everything().await;
    }
}

#[tokio::test]
async fn a_failure_after_the_commit_is_finished_by_running_again() {
    let fixture = Fixture::new().await;
    let old = fixture.key_on_disk();
    let err = fixture
        .rotate(Some(Step::Promote))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("run the command again to finish"), "{err}");
    let pending = MasterKey::load(&fixture.files().pending()).unwrap();
    // The database is under the pending key, the key file still holds the old one, and the old
    // key is kept: serve refuses rather than fail at the first signature.
    check_opens(&fixture.store, &pending, &fixture.secrets).await;
    assert_eq!(fixture.key_on_disk().id(), old.id());
    assert_eq!(
        fixture.names(),
        [
            "master.key",
            "master.key.new",
            "master.key.old-20261127T120000Z"
        ]
    );
    let refused = fixture.source.load().unwrap_err().to_string();
    assert!(refused.contains("master.key.new"), "{refused}");

    let report = rotate(
        &fixture.store,
        &fixture.steps(None),
        &old,
        None,
        false,
        NOW + time::Duration::seconds(5),
    )
    .await
    .unwrap();
    assert!(report.resumed);
    assert_eq!(report.re_encrypted, 0, "already under the pending key");
    assert_eq!(report.new_id, pending.id());
    fixture.assert_serve_key_opens_everything().await;
    // The backup of the failed attempt stays (it was named in its error message).
    assert_eq!(
        fixture.names(),
        ["master.key", "master.key.old-20261127T120000Z"]
    );
}

#[tokio::test]
async fn a_crash_after_writing_the_pending_key_resumes_with_that_key() {
    let fixture = Fixture::new().await;
    // As if the process died right after step 1: the pending key exists, no row uses it.
    let pending = MasterKey::generate().unwrap();
    write_key_file(&fixture.files().pending(), &pending, true).unwrap();
    assert!(fixture.source.load().is_err(), "serve refuses meanwhile");

    let other = MasterKey::generate().unwrap();
    let old = fixture.key_on_disk();
    let err = rotate(
        &fixture.store,
        &fixture.steps(None),
        &old,
        Some(other),
        false,
        NOW,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("finish it first"), "{err}");

    let report = fixture.rotate(None).await.unwrap();
    assert!(report.resumed);
    assert_eq!(report.re_encrypted, 2);
    assert_eq!(fixture.key_on_disk().id(), pending.id());
    fixture.assert_serve_key_opens_everything().await;
}

#[tokio::test]
async fn the_wrong_current_key_changes_nothing() {
    let fixture = Fixture::new().await;
    let real = fixture.key_on_disk();
    let stranger = MasterKey::generate().unwrap();
    let err = rotate(
        &fixture.store,
        &fixture.steps(None),
        &stranger,
        None,
        true,
        NOW,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("encrypted under master key {}", real.id()))
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(fixture.names(), ["master.key"]);
    fixture.assert_serve_key_opens_everything().await;
}

#[tokio::test]
async fn hundreds_of_keys_move_in_one_rotation() {
    let fixture = Fixture::with_certificates_per_organization(250).await;
    let report = fixture.rotate(None).await.unwrap();
    assert_eq!(report.re_encrypted, 500);
    fixture.assert_serve_key_opens_everything().await;
}
