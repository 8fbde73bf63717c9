//! Reading and changing an organization's renewal policy, and its renewal status as the
//! certificate page and API show it: the decision of [`super::renewal_decision`] on the stored
//! policy, state and certificates at the injected clock's now.

use super::decision::{
    ActiveCertificate, AdministratorReason, RenewalDecision, RenewalSituation, renewal_decision,
};
use super::policy::{PolicyError, RenewAtFraction, RenewalPolicy, UploadedCertificates};
use super::state::RenewalFailure;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{CertificateState, OrganizationId, StoredCertificate};
use crate::proof::ProofOutcome;
use crate::workflows::Workflows;
use time::{Duration, OffsetDateTime};

/// A change of some of the policy's settings; `None` leaves a setting as it is. For the two
/// optional lifetimes, `Some(None)` returns to the default (the configured validity; no tenant
/// maximum).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewalPolicyChange {
    pub automatic: Option<bool>,
    pub lifetime_days: Option<Option<u32>>,
    pub tenant_max_lifetime_days: Option<Option<u32>>,
    pub renew_at: Option<RenewAtFraction>,
    pub jitter_seconds: Option<i64>,
    pub backoff_base_seconds: Option<i64>,
    pub backoff_cap_seconds: Option<i64>,
    pub uploaded: Option<UploadedCertificates>,
}

impl RenewalPolicyChange {
    /// `policy` with this change applied and validated.
    pub fn apply(&self, policy: &RenewalPolicy) -> Result<RenewalPolicy, PolicyError> {
        let seconds =
            |value: Option<i64>, current: Duration| value.map(Duration::seconds).unwrap_or(current);
        let changed = RenewalPolicy {
            automatic: self.automatic.unwrap_or(policy.automatic),
            lifetime_days: self.lifetime_days.unwrap_or(policy.lifetime_days),
            tenant_max_lifetime_days: self
                .tenant_max_lifetime_days
                .unwrap_or(policy.tenant_max_lifetime_days),
            renew_at: self.renew_at.unwrap_or(policy.renew_at),
            jitter: seconds(self.jitter_seconds, policy.jitter),
            backoff_base: seconds(self.backoff_base_seconds, policy.backoff_base),
            backoff_cap: seconds(self.backoff_cap_seconds, policy.backoff_cap),
            uploaded: self.uploaded.unwrap_or(policy.uploaded),
        };
        changed.validate()?;
        Ok(changed)
    }
}

impl From<PolicyError> for ServiceError {
    fn from(refused: PolicyError) -> Self {
        ServiceError::Invalid {
            field: format!("renewal_policy.{}", refused.field),
            message: refused.to_string(),
        }
    }
}

/// The organization's renewal as shown: the policy's switch, the decision now, and what the
/// stored state says about past attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalStatus {
    pub automatic: bool,
    pub decision: RenewalDecision,
    pub failed_attempts: u32,
    pub last_failure: Option<RenewalFailure>,
}

impl RenewalStatus {
    /// Why an administrator must act, when one must.
    pub fn administrator_reason(&self) -> Option<AdministratorReason> {
        match self.decision {
            RenewalDecision::NeedsAdministrator { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The active certificate among `certificates`, with what Entra said at its latest proof.
pub fn active_certificate(certificates: &[StoredCertificate]) -> Option<ActiveCertificate> {
    let active = certificates
        .iter()
        .find(|c| c.state == CertificateState::Active)?;
    let said = active.last_proof.as_ref().map(|p| p.outcome);
    Some(ActiveCertificate {
        source: active.source,
        sha1_thumbprint: active.sha1_thumbprint.clone(),
        not_before: active.not_before,
        not_after: active.not_after,
        not_attached: said == Some(ProofOutcome::KeyNotRegistered),
        refused_as_expired: said == Some(ProofOutcome::KeyExpired),
    })
}

impl Workflows {
    /// The organization's renewal policy (defaults until an administrator changes it).
    pub async fn renewal_policy(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<RenewalPolicy> {
        caller.require(Permission::View)?;
        Ok(self.repository().renewal(id).await?.policy)
    }

    /// Changes some of the organization's renewal settings (Administrators) and audits the
    /// change (from and to). A value that cannot work is refused naming its field and changes
    /// nothing; a change to what is already set audits nothing.
    pub async fn set_renewal_policy(
        &self,
        caller: &Caller,
        id: OrganizationId,
        change: &RenewalPolicyChange,
    ) -> ServiceResult<RenewalPolicy> {
        caller.require(Permission::ManageOrganizations)?;
        let organization = self.repository().organization(id).await?;
        let before = self.repository().renewal(id).await?.policy;
        let after = change.apply(&before)?;
        if after == before {
            return Ok(before);
        }
        let at = self.now();
        let record = self.repository().set_renewal_policy(id, &after, at).await?;
        let entry = NewAuditEntry {
            at,
            actor: caller.name.clone(),
            action: AuditAction::RenewalPolicyChanged,
            organization: Some(id),
            thumbprints: Vec::new(),
            outcome: AuditOutcome::Success,
            detail: Some(format!(
                "{}: {} → {}",
                organization.name,
                summary(&before),
                summary(&after)
            )),
        };
        // As for every audit entry: the change has happened and is not reported as failed.
        if let Err(error) = self.repository().append_audit(entry).await {
            tracing::error!(%error, "could not audit a renewal policy change");
        }
        Ok(record.policy)
    }

    /// What renewal does about the organization now.
    pub async fn renewal_status(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<RenewalStatus> {
        caller.require(Permission::View)?;
        let record = self.repository().renewal(id).await?;
        let certificates = self.repository().certificates(id).await?;
        Ok(status_at(id, &record, &certificates, self.now()))
    }
}

/// The status from the stored record and certificates at `now`.
pub fn status_at(
    organization: OrganizationId,
    record: &super::RenewalRecord,
    certificates: &[StoredCertificate],
    now: OffsetDateTime,
) -> RenewalStatus {
    let active = active_certificate(certificates);
    let decision = renewal_decision(
        RenewalSituation {
            organization,
            policy: &record.policy,
            state: &record.state,
            active: active.as_ref(),
        },
        now,
    );
    RenewalStatus {
        automatic: record.policy.automatic,
        decision,
        failed_attempts: record.state.failed_attempts,
        last_failure: record.state.last_failure.clone(),
    }
}

/// The policy in one line for the audit log.
fn summary(policy: &RenewalPolicy) -> String {
    let days = |d: Option<u32>| d.map_or_else(|| "default".to_owned(), |d| d.to_string());
    format!(
        "automatic={} lifetime_days={} tenant_max_lifetime_days={} renew_at_fraction={} jitter_seconds={} backoff_base_seconds={} backoff_cap_seconds={} uploaded={}",
        policy.automatic,
        days(policy.lifetime_days),
        days(policy.tenant_max_lifetime_days),
        policy.renew_at,
        policy.jitter.whole_seconds(),
        policy.backoff_base.whole_seconds(),
        policy.backoff_cap.whole_seconds(),
        policy.uploaded.as_str(),
    )
}
