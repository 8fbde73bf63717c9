//! Organizations and what is read about them: the list, adding one, the certificate page,
//! a certificate, and an organization's operations.

use super::Workflows;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::certificate_page::CertificatePage;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{
    CertificateId, NewOrganization, Organization, OrganizationId, StoredCertificate,
};
use crate::operation::Operation;

impl Workflows {
    pub async fn organizations(&self, caller: &Caller) -> ServiceResult<Vec<Organization>> {
        caller.require(Permission::View)?;
        Ok(self.repository.organizations().await?)
    }

    pub async fn organization(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<Organization> {
        caller.require(Permission::View)?;
        Ok(self.repository.organization(id).await?)
    }

    pub async fn add_organization(
        &self,
        caller: &Caller,
        new: NewOrganization,
    ) -> ServiceResult<Organization> {
        caller.require(Permission::ManageOrganizations)?;
        let new = validate_new_organization(new)?;
        let organization = self.repository.add_organization(new, self.now()).await?;
        self.audit(
            &caller.name,
            AuditAction::OrganizationAdded,
            Some(organization.id),
            Vec::new(),
            AuditOutcome::Success,
            Some(format!("{} ({})", organization.name, organization.tenant)),
        )
        .await;
        Ok(organization)
    }

    pub async fn certificate_page(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<CertificatePage> {
        caller.require(Permission::View)?;
        let organization = self.repository.organization(id).await?;
        let certificates = self.repository.certificates(id).await?;
        Ok(CertificatePage::build(
            organization,
            &certificates,
            self.now(),
            time::Duration::days(i64::from(self.config.expiring_soon_days)),
        ))
    }

    pub async fn certificate(
        &self,
        caller: &Caller,
        id: CertificateId,
    ) -> ServiceResult<StoredCertificate> {
        caller.require(Permission::View)?;
        Ok(self.repository.certificate(id).await?)
    }

    /// The organization's operations as stored, newest first (no sign-in polling: see
    /// [`Workflows::operation`] for one operation as it stands).
    pub async fn operations(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Vec<Operation>> {
        caller.require(Permission::View)?;
        Ok(self.repository.operations(organization).await?)
    }
}

/// Whether `tenant` names a tenant as an organization's tenant is given: its id (a GUID) or a
/// domain such as `contoso.onmicrosoft.com`.
pub fn is_tenant_reference(tenant: &str) -> bool {
    let is_guid = uuid::Uuid::parse_str(tenant).is_ok();
    let is_domain = tenant.contains('.')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    is_guid || is_domain
}

fn validate_new_organization(new: NewOrganization) -> ServiceResult<NewOrganization> {
    let invalid = |field: &str, message: &str| ServiceError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    };
    let tenant = new.tenant.trim().to_owned();
    if !is_tenant_reference(&tenant) {
        return Err(invalid(
            "tenant",
            "the tenant is its GUID (directory id) or a domain such as contoso.onmicrosoft.com",
        ));
    }
    let app_id = new.app_id.trim().to_owned();
    if uuid::Uuid::parse_str(&app_id).is_err() {
        return Err(invalid(
            "app_id",
            "the application (client) id is a GUID, shown on the app registration's overview page",
        ));
    }
    let name = if new.name.trim().is_empty() {
        tenant.clone()
    } else {
        new.name.trim().to_owned()
    };
    Ok(NewOrganization {
        name,
        tenant,
        cloud: new.cloud,
        app_id,
    })
}

#[cfg(test)]
mod tests {
    use super::is_tenant_reference;

    #[test]
    fn a_tenant_is_its_guid_or_a_domain() {
        assert!(is_tenant_reference("0c1e3b3e-1111-4222-8333-444455556666"));
        assert!(is_tenant_reference("contoso.onmicrosoft.com"));
        assert!(is_tenant_reference("login-test.contoso.example"));
        for not_a_tenant in ["contoso", "contoso onmicrosoft.com", "contoso.com/x", ""] {
            assert!(!is_tenant_reference(not_a_tenant), "{not_a_tenant:?}");
        }
    }
}
