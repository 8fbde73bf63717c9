//! Organizations: a customer tenant plus the backup application registered in it, read as the
//! service's [`Organization`] (with its active certificate and connection state).

use tenantlink_service::{
    AssertionProfile, ConnectionState, NewOrganization, Organization, OrganizationId,
};
use time::OffsetDateTime;

use crate::Store;
use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

/// The organization's columns plus its active certificate (at most one, by a unique index).
pub(crate) const SELECT: &str = "SELECT o.id, o.tenant, o.cloud, o.app_id, o.app_object_id, o.name, \
                      o.connection, o.last_error, o.assertion_profile, o.created_at, \
                      (SELECT c.id FROM certificates c WHERE c.organization_id = o.id \
                       AND c.state = 'active') AS active_certificate \
                      FROM organizations o";

impl Store {
    /// Adds an organization. The same tenant and application in the same cloud is refused
    /// with [`StoreError::AlreadyExists`].
    pub async fn create_organization(
        &self,
        new: NewOrganization,
        at: OffsetDateTime,
    ) -> StoreResult<Organization> {
        // Its assertion profile is the column's default; set_assertion_profile changes it.
        let org = new.added(OrganizationId::new(), at);
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO organizations (id, tenant, cloud, app_id, app_object_id, \
                 name, connection, last_error, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $6, NULL, $7, $7)",
            )
            .bind(org.id.to_string())
            .bind(&org.tenant)
            .bind(org.cloud.as_str())
            .bind(&org.app_id)
            .bind(&org.name)
            .bind(org.connection.as_str())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("add the organization"))?;
        });
        Ok(org)
    }

    pub async fn organization(&self, id: OrganizationId) -> StoreResult<Organization> {
        let sql = format!("{SELECT} WHERE o.id = $1");
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

    /// All organizations, by name, then id.
    pub async fn organizations(&self) -> StoreResult<Vec<Organization>> {
        let sql = format!("{SELECT} ORDER BY o.name, o.id");
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
                "UPDATE organizations SET connection = $2, last_error = $3, updated_at = $4 \
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

    /// Records the backup application Connect registered or found: its `appId` and object id.
    /// Another organization of the same cloud and tenant with that application is refused with
    /// [`StoreError::AlreadyExists`] (the unique constraint), changing nothing.
    pub async fn set_application(
        &self,
        id: OrganizationId,
        app_id: &str,
        app_object_id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<Organization> {
        let micros = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE organizations SET app_id = $2, app_object_id = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(app_id)
            .bind(app_object_id)
            .bind(micros)
            .execute(pool)
            .await
            .map_err(StoreError::db("record the application"))?
            .rows_affected()
        });
        require_one(affected, id)?;
        self.organization(id).await
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

pub(crate) fn decode(row: &impl Columns) -> StoreResult<Organization> {
    let row = &in_table("organizations", row);
    Ok(Organization {
        id: row.parsed("id")?,
        name: row.text("name")?,
        tenant: row.text("tenant")?,
        cloud: row.parsed("cloud")?,
        app_id: row.text("app_id")?,
        app_object_id: row.opt_text("app_object_id")?,
        active_certificate: row.opt_parsed("active_certificate")?,
        connection: row.parsed("connection")?,
        last_error: row.opt_text("last_error")?,
        assertion_profile: row.parsed("assertion_profile")?,
        created_at: row.time("created_at")?,
    })
}
