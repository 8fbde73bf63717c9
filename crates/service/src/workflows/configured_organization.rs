//! The organization a service is started with (a configured tenant, or the embedded sandbox's
//! backup application): added at the first start, found again at every later one.

use super::Workflows;
use crate::accounts::{Caller, CallerVia};
use crate::cloud::Cloud;
use crate::error::ServiceResult;
use crate::model::{NewOrganization, Organization, Role};

impl Workflows {
    /// Adds `wanted` unless an organization it describes is already there
    /// ([`is_configured_organization`]), as the `system` administrator. `app_object_id`, when
    /// known up front (the sandbox's), is recorded on the organization it adds; a real tenant's
    /// is looked up at the first sign-in.
    pub async fn ensure_configured_organization(
        &self,
        wanted: NewOrganization,
        app_object_id: Option<&str>,
    ) -> ServiceResult<Organization> {
        let existing = self.repository.organizations().await?;
        if let Some(organization) = existing
            .into_iter()
            .find(|o| is_configured_organization(o, &wanted))
        {
            return Ok(organization);
        }
        let system = Caller {
            name: "system".into(),
            role: Role::Administrator,
            via: CallerVia::ApiToken,
            csrf_token: None,
            account: None,
        };
        let organization = self.add_organization(&system, wanted).await?;
        if let Some(object_id) = app_object_id {
            self.repository
                .set_app_object_id(organization.id, object_id, self.now())
                .await?;
        }
        Ok(organization)
    }
}

/// Whether `existing` is the organization `wanted` describes: the same backup application in
/// the same cloud, and the same tenant — except in the sandbox cloud, where the one in-process
/// sandbox tenant is meant whatever its id (so it is not added again beside the old one).
/// Application and tenant compare without case, as Entra's do.
pub fn is_configured_organization(existing: &Organization, wanted: &NewOrganization) -> bool {
    existing.app_id.eq_ignore_ascii_case(&wanted.app_id)
        && existing.cloud == wanted.cloud
        && (wanted.cloud == Cloud::Sandbox || existing.tenant.eq_ignore_ascii_case(&wanted.tenant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes;

    const APP: &str = "11111111-2222-3333-4444-555555555555";

    fn existing(cloud: Cloud, tenant: &str, app_id: &str) -> Organization {
        Organization {
            tenant: tenant.into(),
            cloud,
            app_id: app_id.into(),
            ..fakes::organization()
        }
    }

    fn wanted(cloud: Cloud, tenant: &str, app_id: &str) -> NewOrganization {
        NewOrganization {
            name: String::new(),
            tenant: tenant.into(),
            cloud,
            app_id: app_id.into(),
        }
    }

    #[test]
    fn the_same_application_tenant_and_cloud_is_the_configured_organization_whatever_the_case() {
        let stored = existing(Cloud::Global, "contoso.onmicrosoft.com", APP);
        assert!(is_configured_organization(
            &stored,
            &wanted(
                Cloud::Global,
                "Contoso.OnMicrosoft.com",
                &APP.to_uppercase()
            )
        ));
    }

    #[test]
    fn another_application_cloud_or_tenant_is_another_organization() {
        let stored = existing(Cloud::Global, "contoso.onmicrosoft.com", APP);
        let other_app = "99999999-2222-3333-4444-555555555555";
        for different in [
            wanted(Cloud::Global, "contoso.onmicrosoft.com", other_app),
            wanted(Cloud::UsGov, "contoso.onmicrosoft.com", APP),
            wanted(Cloud::Global, "fabrikam.onmicrosoft.com", APP),
        ] {
            assert!(
                !is_configured_organization(&stored, &different),
                "{different:?}"
            );
        }
    }

    #[test]
    fn in_the_sandbox_cloud_the_application_alone_names_the_organization() {
        let stored = existing(Cloud::Sandbox, "0c1e3b3e-1111-4222-8333-444455556666", APP);
        assert!(is_configured_organization(
            &stored,
            &wanted(Cloud::Sandbox, "7d2f4c4f-1111-4222-8333-444455556666", APP)
        ));
        assert!(!is_configured_organization(
            &stored,
            &wanted(
                Cloud::Sandbox,
                "0c1e3b3e-1111-4222-8333-444455556666",
                "other"
            )
        ));
    }
}
