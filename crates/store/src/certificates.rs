//! Certificates of an organization's backup application, read as the service's
//! [`StoredCertificate`], with their private keys encrypted under the master key.

use tenantlink_service::{
    CertificateId, CertificateSource, CertificateState, OrganizationId, StoredCertificate,
};
use time::OffsetDateTime;

use crate::Store;
use crate::crypto;
use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{Conflict, StoreError, StoreResult};
use crate::hex;
use crate::key_binding::{KeyBinding, KeyOwner};
use crate::master_key::MasterKey;
use crate::proofs;

/// A certificate to store. The private key is only borrowed: it is encrypted before it
/// reaches the database and never kept in this struct's `Debug`.
pub struct NewCertificate<'a> {
    pub organization: OrganizationId,
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub source: CertificateSource,
    pub der: Vec<u8>,
    /// PKCS#8 DER of the private key.
    pub private_key_pkcs8: &'a [u8],
}

impl std::fmt::Debug for NewCertificate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCertificate")
            .field("organization", &self.organization)
            .field("sha1", &hex::upper(&self.sha1))
            .field("subject", &self.subject)
            .field("source", &self.source)
            .field("private_key_pkcs8", &"<redacted>")
            .finish()
    }
}

pub(crate) const COLUMNS: &str = "id, organization_id, sha1_thumbprint, sha256_thumbprint, \
                       subject, not_before, not_after, source, der, state, created_at, \
                       activated_at, retired_at, key_removed_at, proof_outcome, proof_source, \
                       proof_detail, proof_at";

impl Store {
    /// Stores a certificate in state `pending`, its private key encrypted under `key` and
    /// bound to the new certificate, its organization and its thumbprint.
    pub async fn insert_certificate(
        &self,
        key: &MasterKey,
        new: NewCertificate<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<StoredCertificate> {
        let record = StoredCertificate {
            id: CertificateId::new(),
            organization: new.organization,
            sha1_thumbprint: hex::upper(&new.sha1),
            sha256_thumbprint: hex::upper(&new.sha256),
            subject: new.subject,
            not_before: new.not_before,
            not_after: new.not_after,
            source: new.source,
            der: new.der,
            state: CertificateState::Pending,
            created_at: at,
            activated_at: None,
            retired_at: None,
            key_removed_at: None,
            last_proof: None,
        };
        let owner = KeyOwner {
            certificate: record.id,
            organization: record.organization,
            sha256_thumbprint: record.sha256_thumbprint.clone(),
        };
        let sealed = crypto::seal(
            key,
            &KeyBinding::CURRENT.context(&owner),
            new.private_key_pkcs8,
        )?;
        let (not_before, not_after, at) = (
            to_micros(record.not_before)?,
            to_micros(record.not_after)?,
            to_micros(at)?,
        );
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO certificates (id, organization_id, sha1_thumbprint, \
                 sha256_thumbprint, subject, not_before, not_after, source, der, \
                 encrypted_private_key, state, created_at, key_binding) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(record.id.to_string())
            .bind(record.organization.to_string())
            .bind(&record.sha1_thumbprint)
            .bind(&record.sha256_thumbprint)
            .bind(&record.subject)
            .bind(not_before)
            .bind(not_after)
            .bind(record.source.as_str())
            .bind(&record.der)
            .bind(&sealed)
            .bind(record.state.as_str())
            .bind(at)
            .bind(KeyBinding::CURRENT.column_value())
            .execute(pool)
            .await
            .map_err(StoreError::db("store the certificate"))?;
        });
        Ok(record)
    }

    pub async fn certificate(&self, id: CertificateId) -> StoreResult<StoredCertificate> {
        let sql = format!("SELECT {COLUMNS} FROM certificates WHERE id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the certificate"))?
                .ok_or_else(|| StoreError::not_found("certificate", id))?;
            decode(&row)
        })
    }

    /// The organization's certificates, newest first.
    pub async fn certificates(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<StoredCertificate>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificates WHERE organization_id = $1 \
             ORDER BY created_at DESC, id"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list certificates"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// The organization's active certificate, if any.
    pub async fn active_certificate(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Option<StoredCertificate>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificates WHERE organization_id = $1 AND state = 'active'"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the active certificate"))?
                .as_ref()
                .map(decode)
                .transpose()
        })
    }

    /// Retired certificates whose key tenantlink has not removed from the application yet and
    /// that a succeeded operation of kind `rotate` replaced, oldest retirement first. Which of
    /// them are due is the service's decision (the overlap rule), not the store's.
    pub async fn keys_to_remove(&self) -> StoreResult<Vec<StoredCertificate>> {
        let sql = keys_to_remove_sql("");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list keys to remove"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// [`Store::keys_to_remove`] of one organization (its certificate page, and a rotation
    /// making room for its new key): reads only that organization's certificates.
    pub async fn organization_keys_to_remove(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<StoredCertificate>> {
        let sql = keys_to_remove_sql("AND organization_id = $1");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list the organization's keys to remove"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Records that the certificate's key was removed from the application at `at`; a
    /// certificate already marked keeps its first time.
    pub async fn mark_key_removed(&self, id: CertificateId, at: OffsetDateTime) -> StoreResult<()> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE certificates SET key_removed_at = COALESCE(key_removed_at, $2) \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("mark the key removed"))?
            .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("certificate", id));
        }
        Ok(())
    }

    /// Marks a pending certificate as discarded (its operation failed). Active, retired and
    /// already-discarded certificates are left alone and reported as a conflict.
    pub async fn discard_certificate(&self, id: CertificateId) -> StoreResult<()> {
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE certificates SET state = 'discarded' WHERE id = $1 AND state = 'pending'",
            )
            .bind(id.to_string())
            .execute(pool)
            .await
            .map_err(StoreError::db("discard the certificate"))?
            .rows_affected()
        });
        if affected == 0 {
            self.certificate(id).await?;
            return Err(Conflict::CertificateNotPending {
                certificate: id.to_string(),
            }
            .into());
        }
        Ok(())
    }
}

pub(crate) fn decode(row: &impl Columns) -> StoreResult<StoredCertificate> {
    let row = &in_table("certificates", row);
    Ok(StoredCertificate {
        id: row.parsed("id")?,
        organization: row.parsed("organization_id")?,
        sha1_thumbprint: row.text("sha1_thumbprint")?,
        sha256_thumbprint: row.text("sha256_thumbprint")?,
        subject: row.text("subject")?,
        not_before: row.time("not_before")?,
        not_after: row.time("not_after")?,
        source: row.parsed("source")?,
        der: row.blob("der")?,
        state: row.parsed("state")?,
        created_at: row.time("created_at")?,
        activated_at: row.opt_time("activated_at")?,
        retired_at: row.opt_time("retired_at")?,
        key_removed_at: row.opt_time("key_removed_at")?,
        last_proof: proofs::decode(row)?,
    })
}

/// The query of [`Store::keys_to_remove`], narrowed by `filter` (a condition on `certificates`).
fn keys_to_remove_sql(filter: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM certificates \
         WHERE state = 'retired' AND key_removed_at IS NULL {filter} \
         AND EXISTS (SELECT 1 FROM certificate_operations op \
                     WHERE op.replaces_id = certificates.id AND op.kind = 'rotate' \
                     AND op.step = 'succeeded') \
         ORDER BY retired_at, created_at, id"
    )
}
