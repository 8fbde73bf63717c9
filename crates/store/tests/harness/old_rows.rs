//! Rows as an older release wrote them, inserted with raw SQL before the store migrates the
//! database (and beside it afterwards): the migration tests' shared setup.

use super::{EmptyDb, RawParam, TestDb};
use tenantlink_service::{CertificateId, OperationId, OrganizationId};
use time::OffsetDateTime;
use time::macros::datetime;

pub const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);

pub fn micros(minutes: i64) -> i64 {
    (T0.unix_timestamp() + minutes * 60) * 1_000_000
}

pub fn at(minutes: i64) -> OffsetDateTime {
    T0 + time::Duration::minutes(minutes)
}

pub async fn organization(db: &impl RawSql, name: &str) -> OrganizationId {
    let id = OrganizationId::new();
    db.raw_execute(
        &format!(
            "INSERT INTO organizations (id, tenant, cloud, app_id, app_object_id, name, \
             connection, created_at, updated_at) \
             VALUES ($1, $2, 'sandbox', 'app-1', 'object-1', $3, 'connected', {0}, {0})",
            micros(0)
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(format!("{}.example", name.to_ascii_lowercase())),
            RawParam::Text(name.into()),
        ],
    )
    .await
    .expect("insert an organization");
    id
}

/// A certificate created at minute `created`, activated at `created + 1` (active, retired) and
/// retired at `created + 2` (retired); with an accepted proof when active.
pub async fn certificate(
    db: &impl RawSql,
    organization: OrganizationId,
    state: &str,
    sha1: &str,
    created: i64,
) -> CertificateId {
    let id = CertificateId::new();
    db.raw_execute(
        &format!(
            "INSERT INTO certificates (id, organization_id, sha1_thumbprint, sha256_thumbprint, \
             subject, not_before, not_after, source, der, encrypted_private_key, state, \
             created_at, activated_at, retired_at, proof_outcome, proof_source, proof_at, \
             key_binding) \
             VALUES ($1, $2, $3, $4, 'CN=tenantlink', {0}, {1}, 'generated', $5, $5, $6, {0}, \
             CASE WHEN $6 IN ('active', 'retired') THEN {2} END, \
             CASE WHEN $6 = 'retired' THEN {3} END, \
             CASE WHEN $6 = 'active' THEN 'accepted' END, \
             CASE WHEN $6 = 'active' THEN 'activation' END, \
             CASE WHEN $6 = 'active' THEN {2} END, 2)",
            micros(created),
            micros(60 * 24 * 365),
            micros(created + 1),
            micros(created + 2),
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(organization.to_string()),
            RawParam::Text(sha1.into()),
            RawParam::Text(format!("{sha1}{sha1}")),
            RawParam::Blob(vec![0x30, 0x82, 1, 2]),
            RawParam::Text(state.into()),
        ],
    )
    .await
    .expect("insert a certificate");
    id
}

pub struct OldOperation<'a> {
    pub organization: OrganizationId,
    pub kind: &'a str,
    pub step: &'a str,
    pub certificate: Option<CertificateId>,
    pub replaces: Option<CertificateId>,
    pub failure: Option<(&'a str, &'a str, &'a str)>,
    pub minute: i64,
}

/// Inserts an operation with the 0011 columns; the database's own answer (it may refuse).
pub async fn insert_operation(db: &impl RawSql, id: OperationId, old: &OldOperation<'_>) -> bool {
    let (code, message, remediation) = old.failure.unwrap_or_default();
    db.raw_execute(
        &format!(
            "INSERT INTO certificate_operations (id, organization_id, kind, step, started_by, \
             replaces_id, certificate_id, user_code, verification_uri, device_code_expires_at, \
             failure_code, failure_message, failure_remediation, signed_in_as, sign_in_holder, \
             heartbeat_at, version, started_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'alice', NULLIF($5, ''), NULLIF($6, ''), 'WXYZ9876', \
             'https://login.example.test/device', {1}, NULLIF($7, ''), NULLIF($8, ''), \
             NULLIF($9, ''), 'admin@contoso.example', 'instance-a', {1}, 4, {0}, {1})",
            micros(old.minute),
            micros(old.minute + 1),
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(old.organization.to_string()),
            RawParam::Text(old.kind.into()),
            RawParam::Text(old.step.into()),
            RawParam::Text(old.replaces.map(|c| c.to_string()).unwrap_or_default()),
            RawParam::Text(old.certificate.map(|c| c.to_string()).unwrap_or_default()),
            RawParam::Text(code.into()),
            RawParam::Text(message.into()),
            RawParam::Text(remediation.into()),
        ],
    )
    .await
    .is_ok()
}

pub async fn operation(db: &impl RawSql, old: OldOperation<'_>) -> OperationId {
    let id = OperationId::new();
    assert!(
        insert_operation(db, id, &old).await,
        "insert an operation at {}",
        old.step
    );
    id
}

/// Raw SQL before the upgrade (on the empty database) and after it (beside the store).
pub trait RawSql {
    async fn raw_execute(&self, sql: &str, params: &[RawParam]) -> Result<u64, sqlx::Error>;
}

impl RawSql for EmptyDb {
    async fn raw_execute(&self, sql: &str, params: &[RawParam]) -> Result<u64, sqlx::Error> {
        EmptyDb::raw_execute(self, sql, params).await
    }
}

impl RawSql for TestDb {
    async fn raw_execute(&self, sql: &str, params: &[RawParam]) -> Result<u64, sqlx::Error> {
        TestDb::raw_execute(self, sql, params).await
    }
}
