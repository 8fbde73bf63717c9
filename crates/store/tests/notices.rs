//! Notices and the fleet (migration 0013) on SQLite and PostgreSQL: the notices and fleet
//! contracts the in-memory fake keeps, and what only a database can show: two instances
//! recording one occurrence or claiming one delivery at once, and webhook secrets sealed at
//! rest and moved by a master key rotation.

mod harness;

use std::sync::Arc;

use harness::TestDb;
use harness::fixtures::{self, T0};
use tenantlink_service::fakes::fleet_contract::{BackupRuns, FLEET_CASES};
use tenantlink_service::fakes::notices_contract::NOTICE_CASES;
use tenantlink_service::notices::{
    EventType, NewNotice, NewWebhookEndpoint, NoticeData, NoticeRepository,
};
use tenantlink_service::{
    BoxFuture, OrganizationId, RunStatus, RunSummary, RunTrigger, SecretString,
};
use tenantlink_store::{BackendKind, MasterKey, Store, StoreRepository};

fn master_key() -> Arc<MasterKey> {
    Arc::new(MasterKey::generate().expect("generate a master key"))
}

async fn keeps_the_notices_contract(kind: BackendKind) {
    let key = master_key();
    for (name, case) in NOTICE_CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("notices contract case on {kind:?}: {name}");
        case(&repository).await;
        db.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_notices_contract() {
    keeps_the_notices_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_notices_contract() {
    keeps_the_notices_contract(BackendKind::Postgres).await;
}

/// Backup runs for the fleet contract, through the store's own backup methods: each run under
/// a policy of its own, so runs of one organization may overlap and come in any order.
struct StoreRuns(Store);

impl BackupRuns for StoreRuns {
    fn add_backup_run(
        &self,
        organization: OrganizationId,
        status: RunStatus,
        started_at: time::OffsetDateTime,
        finished_at: Option<time::OffsetDateTime>,
    ) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let policy = fixtures::policy(&self.0, organization, None).await;
            let run = self
                .0
                .start_run(policy.id, RunTrigger::Manual, started_at)
                .await
                .expect("start a run");
            if let Some(at) = finished_at {
                let summary = RunSummary {
                    status,
                    users: 1,
                    items_new: 0,
                    items_changed: 0,
                    error_text: None,
                };
                self.0
                    .finish_run(run.id, &summary, at)
                    .await
                    .expect("finish the run");
            }
        })
    }
}

async fn keeps_the_fleet_contract(kind: BackendKind) {
    let key = master_key();
    for (name, case) in FLEET_CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("fleet contract case on {kind:?}: {name}");
        case(&repository, &StoreRuns(db.store.clone())).await;
        db.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_fleet_contract() {
    keeps_the_fleet_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_fleet_contract() {
    keeps_the_fleet_contract(BackendKind::Postgres).await;
}

backend_tests!(
    two_instances_recording_one_occurrence_at_once_record_it_once,
    two_instances_claiming_one_delivery_at_once_get_one_claim,
    a_webhook_secret_is_sealed_at_rest_and_moves_with_the_master_key,
    unknown_notice_values_are_corrupt_naming_table_and_column,
);

fn notice(occurrence: &str) -> NewNotice {
    NewNotice {
        occurrence: occurrence.to_owned(),
        event_type: EventType::RotationFailed,
        organization: None,
        occurred_at: T0,
        data: NoticeData {
            organization: None,
            certificate: None,
            threshold_days: None,
            days_left: None,
            reason: "AADSTS700027".into(),
            what_to_do: None,
            link: "https://tenantlink.example/".into(),
        },
        only_webhook: None,
    }
}

fn new_endpoint() -> NewWebhookEndpoint {
    NewWebhookEndpoint {
        url: "https://ops.example/hooks".into(),
        description: "ops".into(),
        event_types: vec![EventType::RotationFailed],
        created_by: "alice".into(),
    }
}

/// A second instance on the same database: its own store, pool and connections.
async fn second_instance(db: &TestDb, key: Arc<MasterKey>) -> (Store, StoreRepository) {
    let store = Store::open(&db.url).await.expect("open a second store");
    (store.clone(), StoreRepository::new(store, key))
}

async fn two_instances_recording_one_occurrence_at_once_record_it_once(db: &TestDb) {
    let key = master_key();
    let first = StoreRepository::new(db.store.clone(), key.clone());
    let (other, second) = second_instance(db, key).await;
    first
        .create_webhook(&new_endpoint(), &"whsec_x".into(), T0)
        .await
        .unwrap();
    for round in 0..20 {
        let new = notice(&format!("failed:{round}"));
        let (a, b) = tokio::join!(first.record_notice(&new), second.record_notice(&new));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            a.is_some() ^ b.is_some(),
            "round {round}: exactly one records it, got {a:?} and {b:?}"
        );
    }
    assert_eq!(first.notices(None, 100).await.unwrap().len(), 20);
    assert_eq!(
        first.deliveries(None, 100).await.unwrap().len(),
        20,
        "one delivery per notice, none twice"
    );
    other.close().await;
}

async fn two_instances_claiming_one_delivery_at_once_get_one_claim(db: &TestDb) {
    let key = master_key();
    let first = StoreRepository::new(db.store.clone(), key.clone());
    let (other, second) = second_instance(db, key).await;
    first
        .create_webhook(&new_endpoint(), &"whsec_x".into(), T0)
        .await
        .unwrap();
    let until = T0 + time::Duration::minutes(5);
    for round in 0..20 {
        first
            .record_notice(&notice(&format!("failed:{round}")))
            .await
            .unwrap();
        let delivery = first.due_deliveries(T0, 1).await.unwrap().remove(0);
        let (a, b) = tokio::join!(
            first.claim_delivery(delivery.id, "instance-a", T0, until),
            second.claim_delivery(delivery.id, "instance-b", T0, until),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "round {round}: exactly one claim, got a={a} b={b}");
        assert!(
            first.due_deliveries(T0, 10).await.unwrap().is_empty(),
            "claimed ones are not due"
        );
    }
    other.close().await;
}

async fn a_webhook_secret_is_sealed_at_rest_and_moves_with_the_master_key(db: &TestDb) {
    let old = master_key();
    let repo = StoreRepository::new(db.store.clone(), old.clone());
    let secret = SecretString::new("whsec_c2VjcmV0LXNpZ25pbmcta2V5LWJ5dGVz");
    let endpoint = repo
        .create_webhook(&new_endpoint(), &secret, T0)
        .await
        .unwrap();
    let stored: Vec<u8> = db
        .raw_value(
            "SELECT encrypted_secret FROM webhook_endpoints WHERE id = $1",
            &endpoint.id.to_string(),
        )
        .await;
    assert!(
        !stored
            .windows(secret.expose().len())
            .any(|w| w == secret.expose().as_bytes()),
        "the secret is not stored in the clear"
    );
    // A sealed secret copied onto another endpoint does not open there.
    let other = repo
        .create_webhook(&new_endpoint(), &"whsec_other".into(), T0)
        .await
        .unwrap();
    db.raw_execute(
        "UPDATE webhook_endpoints SET encrypted_secret = $1 WHERE id = $2",
        &[
            harness::RawParam::Blob(stored.clone()),
            harness::RawParam::Text(other.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(repo.webhook_secret(other.id).await.is_err());

    // A master key rotation re-encrypts it (with the private keys, in one transaction).
    // (The tampered endpoint is deleted first: a secret that does not open stops a rotation.)
    repo.delete_webhook(other.id).await.unwrap();
    let new = master_key();
    assert_eq!(db.store.rotate_master_key(&old, &new).await.unwrap(), 1);
    let rotated = StoreRepository::new(db.store.clone(), new.clone());
    assert_eq!(
        rotated.webhook_secret(endpoint.id).await.unwrap().expose(),
        secret.expose()
    );
    assert!(
        repo.webhook_secret(endpoint.id).await.is_err(),
        "the old key no longer opens it"
    );
    assert_eq!(
        db.store.rotate_master_key(&old, &new).await.unwrap(),
        0,
        "done once"
    );
    // Deleted, its secret is gone from the database.
    rotated.delete_webhook(endpoint.id).await.unwrap();
    let left: Option<Vec<u8>> = db
        .raw_value(
            "SELECT encrypted_secret FROM webhook_endpoints WHERE id = $1",
            &endpoint.id.to_string(),
        )
        .await;
    assert_eq!(left, None);
}

async fn unknown_notice_values_are_corrupt_naming_table_and_column(db: &TestDb) {
    use harness::RawParam::Text;
    use tenantlink_store::StoreError;
    let key = master_key();
    let endpoint = db
        .store
        .create_webhook(&key, &new_endpoint(), &"whsec_x".into(), T0)
        .await
        .unwrap();
    let recorded = db.store.record_notice(&notice("a")).await.unwrap().unwrap();
    db.store
        .set_notice_settings(&Default::default(), T0)
        .await
        .unwrap();
    let corrupt = |result: Result<(), StoreError>| match result {
        Err(StoreError::Corrupt {
            table,
            column,
            value,
        }) => (table, column, value),
        other => panic!("expected a corrupt value, got {other:?}"),
    };

    db.raw_execute(
        "UPDATE notices SET event_type = $1 WHERE id = $2",
        &[
            Text("certificate.exploded".into()),
            Text(recorded.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        corrupt(db.store.notice(recorded.id).await.map(drop)),
        ("notices", "event_type", "certificate.exploded".to_owned())
    );
    assert_eq!(
        corrupt(db.store.deliveries(None, 10).await.map(drop)).1,
        "event_type",
        "a delivery reads its notice"
    );

    db.raw_execute(
        "UPDATE webhook_endpoints SET event_types = $1 WHERE id = $2",
        &[
            Text(r#"["rotation.failed","rotation.maybe"]"#.into()),
            Text(endpoint.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        corrupt(db.store.webhook(endpoint.id).await.map(drop)),
        (
            "webhook_endpoints",
            "event_types",
            "rotation.maybe".to_owned()
        )
    );

    for (sql, value, column) in [
        (
            "UPDATE notice_settings SET email_mode = $1 WHERE id = 1",
            "weekly",
            "email_mode",
        ),
        (
            "UPDATE notice_settings SET email_mode = 'immediate', default_recipients = $1 WHERE id = 1",
            "ops@msp.example",
            "default_recipients",
        ),
    ] {
        db.raw_execute(sql, &[Text(value.into())]).await.unwrap();
        assert_eq!(
            corrupt(db.store.notice_settings().await.map(drop)),
            ("notice_settings", column, value.to_owned())
        );
    }
}
