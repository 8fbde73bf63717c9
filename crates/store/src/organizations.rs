//! Organizations: a customer tenant plus the backup application registered in it.

use time::OffsetDateTime;

use crate::Store;
use crate::db::{Columns, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::ids::{OrganizationId, text_enum};

text_enum!(
    /// Whether the backup application's credential last worked for this organization.
    ConnectionState {
        Unknown => "unknown",
        Connected => "connected",
        Broken => "broken",
    }
);

text_enum!(
    /// How the organization's client assertions are shaped (RS256 + `x5t`, PS256 + `x5t#S256`).
    AssertionProfile {
        Rs256 => "rs256",
        Ps256 => "ps256",
    }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    /// Tenant id (GUID) or verified domain, as the administrator entered it.
    pub tenant: String,
    /// Cloud name (e.g. `global`, `usgov`, `china`, `sandbox`).
    pub cloud: String,
    pub backup_app_id: String,
    /// Object id of the application, looked up through Graph.
    pub app_object_id: Option<String>,
    pub display_name: String,
    pub connection_state: ConnectionState,
    pub assertion_profile: AssertionProfile,
    /// The last credential or directory error, verbatim; never a secret.
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub tenant: String,
    pub cloud: String,
    pub backup_app_id: String,
    pub app_object_id: Option<String>,
    pub display_name: String,
}

const COLUMNS: &str = "id, tenant, cloud, backup_app_id, app_object_id, display_name, \
                       connection_state, assertion_profile, last_error, created_at, updated_at";

impl Store {
    /// Adds an organization. The same tenant and application in the same cloud is refused
    /// with [`StoreError::AlreadyExists`].
    pub async fn create_organization(
        &self,
        new: NewOrganization,
        at: OffsetDateTime,
    ) -> StoreResult<Organization> {
        let org = Organization {
            id: OrganizationId::new(),
            tenant: new.tenant,
            cloud: new.cloud,
            backup_app_id: new.backup_app_id,
            app_object_id: new.app_object_id,
            display_name: new.display_name,
            connection_state: ConnectionState::Unknown,
            // The column's default; set_assertion_profile changes it.
            assertion_profile: AssertionProfile::Rs256,
            last_error: None,
            created_at: at,
            updated_at: at,
        };
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO organizations (id, tenant, cloud, backup_app_id, app_object_id, \
                 display_name, connection_state, last_error, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)",
            )
            .bind(org.id.to_string())
            .bind(&org.tenant)
            .bind(&org.cloud)
            .bind(&org.backup_app_id)
            .bind(&org.app_object_id)
            .bind(&org.display_name)
            .bind(org.connection_state.as_str())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("add the organization"))?;
        });
        Ok(org)
    }

    pub async fn organization(&self, id: OrganizationId) -> StoreResult<Organization> {
        let sql = format!("SELECT {COLUMNS} FROM organizations WHERE id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the organization"))?
                .ok_or_else(|| StoreError::not_found("organization", id))?;
            decode(&row)
        })
    }

    /// All organizations, by display name.
    pub async fn organizations(&self) -> StoreResult<Vec<Organization>> {
        let sql = format!("SELECT {COLUMNS} FROM organizations ORDER BY display_name, id");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list organizations"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Records the outcome of the latest use of the organization's credential.
    pub async fn set_connection_state(
        &self,
        id: OrganizationId,
        state: ConnectionState,
        last_error: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE organizations SET connection_state = $2, last_error = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(state.as_str())
            .bind(last_error)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("update the connection state"))?
            .rows_affected()
        });
        require_one(affected, id)
    }

    pub async fn set_app_object_id(
        &self,
        id: OrganizationId,
        app_object_id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE organizations SET app_object_id = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(app_object_id)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("update the application object id"))?
            .rows_affected()
        });
        require_one(affected, id)
    }

    /// Changes how the organization's client assertions are shaped; returns it changed.
    pub async fn set_assertion_profile(
        &self,
        id: OrganizationId,
        profile: AssertionProfile,
        at: OffsetDateTime,
    ) -> StoreResult<Organization> {
        let micros = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE organizations SET assertion_profile = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(profile.as_str())
            .bind(micros)
            .execute(pool)
            .await
            .map_err(StoreError::db("update the assertion profile"))?
            .rows_affected()
        });
        require_one(affected, id)?;
        self.organization(id).await
    }

    /// Deletes an organization with its certificates, operations, policies and backup
    /// index. Audit events about it are kept.
    pub async fn delete_organization(&self, id: OrganizationId) -> StoreResult<()> {
        let affected = with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            // Operations reference certificates without cascading; remove them first.
            sqlx::query("DELETE FROM certificate_operations WHERE organization_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("delete the organization's operations"))?;
            let affected = sqlx::query("DELETE FROM organizations WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("delete the organization"))?
                .rows_affected();
            tx.commit().await.map_err(StoreError::db("commit"))?;
            affected
        });
        require_one(affected, id)
    }
}

fn require_one(affected: u64, id: OrganizationId) -> StoreResult<()> {
    if affected == 0 {
        return Err(StoreError::not_found("organization", id));
    }
    Ok(())
}

fn decode(row: &impl Columns) -> StoreResult<Organization> {
    Ok(Organization {
        id: row.parsed("id")?,
        tenant: row.text("tenant")?,
        cloud: row.text("cloud")?,
        backup_app_id: row.text("backup_app_id")?,
        app_object_id: row.opt_text("app_object_id")?,
        display_name: row.text("display_name")?,
        connection_state: row.parsed("connection_state")?,
        assertion_profile: row.parsed("assertion_profile")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
