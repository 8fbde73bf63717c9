//! Changing an organization's assertion profile (Administrators), which the certificate proof,
//! Check connection and backup runs then sign with.

use super::Workflows;
use crate::accounts::{Caller, Permission};
use crate::assertion_profile::AssertionProfile;
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::ServiceResult;
use crate::model::{Organization, OrganizationId};

impl Workflows {
    /// Sets how the organization's client assertions are shaped and audits the change (from
    /// and to). Setting the profile it already has changes nothing and audits nothing.
    pub async fn set_assertion_profile(
        &self,
        caller: &Caller,
        id: OrganizationId,
        profile: AssertionProfile,
    ) -> ServiceResult<Organization> {
        caller.require(Permission::ManageOrganizations)?;
        let before = self.repository.organization(id).await?;
        if before.assertion_profile == profile {
            return Ok(before);
        }
        let organization = self
            .repository
            .set_assertion_profile(id, profile, self.now())
            .await?;
        self.audit(
            &caller.name,
            AuditAction::AssertionProfileChanged,
            Some(id),
            Vec::new(),
            AuditOutcome::Success,
            Some(format!(
                "{}: {} → {}",
                organization.name,
                before.assertion_profile.as_str(),
                profile.as_str()
            )),
        )
        .await;
        Ok(organization)
    }
}
