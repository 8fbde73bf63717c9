//! Certificates' private keys at rest: decrypting one, and re-encrypting all of them (a master
//! key rotation, which moves the webhook secrets too, or the start-up upgrade of rows still on
//! an older key binding).

use tenantlink_service::CertificateId;
use zeroize::Zeroizing;

use crate::Store;
use crate::crypto::{self, CryptoError};
use crate::db::{BackendKind, Columns, in_table, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::key_binding::{KeyBinding, KeyOwner};
use crate::master_key::MasterKey;

const SEALED_KEY_COLUMNS: &str =
    "id, organization_id, sha256_thumbprint, key_binding, encrypted_private_key";

/// One row's encrypted private key with what it is bound to.
struct SealedKey {
    owner: KeyOwner,
    binding: KeyBinding,
    sealed: Vec<u8>,
}

impl SealedKey {
    fn decode(row: &impl Columns) -> StoreResult<Self> {
        let row = &in_table("certificates", row);
        let binding = row.int("key_binding")?;
        Ok(Self {
            owner: KeyOwner {
                certificate: row.parsed("id")?,
                organization: row.parsed("organization_id")?,
                sha256_thumbprint: row.text("sha256_thumbprint")?,
            },
            binding: KeyBinding::from_column(binding)
                .ok_or(CryptoError::UnknownBinding { value: binding })?,
            sealed: row.blob("encrypted_private_key")?,
        })
    }

    fn open(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        crypto::open(key, &self.binding.context(&self.owner), &self.sealed)
    }
}

impl Store {
    /// Decrypts a certificate's private key (PKCS#8 DER). The caller must keep it in a
    /// zeroizing, redacting type and never log it. A key still on the pre-0010 binding is
    /// refused ([`CryptoError::OutdatedBinding`]): start-up rewraps those first.
    pub async fn certificate_private_key(
        &self,
        key: &MasterKey,
        id: CertificateId,
    ) -> StoreResult<Zeroizing<Vec<u8>>> {
        let sql = format!("SELECT {SEALED_KEY_COLUMNS} FROM certificates WHERE id = $1");
        let sealed = with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the encrypted private key"))?
                .ok_or_else(|| StoreError::not_found("certificate", id))?;
            SealedKey::decode(&row)?
        });
        sealed.binding.require_current(&sealed.owner)?;
        Ok(sealed.open(key)?)
    }

    /// Re-encrypts every stored private key from `old` to `new` in one transaction: either
    /// all rows move to the new key or none do. Rows already under `new` (on the current
    /// binding) are left as they are, so an interrupted rotation can simply be run again.
    /// Returns how many rows were re-encrypted.
    pub async fn rotate_master_key(&self, old: &MasterKey, new: &MasterKey) -> StoreResult<u64> {
        self.reseal_private_keys(old, new).await
    }

    /// Rewraps, under the same master key, every private key still on an older binding
    /// (rows written before migration 0010), in one transaction. Run at start-up, before
    /// serving. Returns how many rows were rewrapped; 0 once done.
    pub async fn upgrade_key_bindings(&self, key: &MasterKey) -> StoreResult<u64> {
        self.reseal_private_keys(key, key).await
    }

    async fn reseal_private_keys(&self, old: &MasterKey, new: &MasterKey) -> StoreResult<u64> {
        // Lock out concurrent writers for the whole pass, so no certificate can be inserted
        // under the old key after it was scanned. SQLite: a write statement takes the database
        // write lock now (instead of failing to upgrade a read lock later).
        let lock = match self.backend_kind() {
            BackendKind::Sqlite => {
                "UPDATE certificates SET encrypted_private_key = encrypted_private_key WHERE 1 = 0"
            }
            BackendKind::Postgres => {
                "LOCK TABLE certificates, webhook_endpoints IN SHARE ROW EXCLUSIVE MODE"
            }
        };
        let select = format!("SELECT {SEALED_KEY_COLUMNS} FROM certificates");
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            sqlx::query(lock)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("lock the certificates"))?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(select))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read the encrypted private keys"))?;
            let mut resealed_rows = 0;
            for row in &rows {
                let sealed = SealedKey::decode(row)?;
                let stored = crypto::stored_key_id(&sealed.sealed)?;
                if stored == new.id() && sealed.binding == KeyBinding::CURRENT {
                    continue;
                }
                // A row an interrupted rotation already moved to `new` on an older binding
                // opens with `new`; every other row must open with `old`.
                let opener = if stored == new.id() { new } else { old };
                let plaintext = sealed.open(opener)?;
                let resealed =
                    crypto::seal(new, &KeyBinding::CURRENT.context(&sealed.owner), &plaintext)?;
                sqlx::query(
                    "UPDATE certificates SET encrypted_private_key = $2, key_binding = $3 \
                     WHERE id = $1",
                )
                .bind(sealed.owner.certificate.to_string())
                .bind(&resealed)
                .bind(KeyBinding::CURRENT.column_value())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("store the re-encrypted private key"))?;
                resealed_rows += 1;
            }
            // The webhook secrets are under the same master key: they move with the keys.
            resealed_rows += crate::notices::reseal_webhook_secrets!(tx, old, new);
            tx.commit()
                .await
                .map_err(StoreError::db("commit the re-encrypted private keys"))?;
            Ok(resealed_rows)
        })
    }
}
