//! What the fleet's certificates call for, as pure functions of one [`FleetRecord`], the
//! thresholds and `now`: the notices due. Recording is idempotent by occurrence, so a pass may
//! run as often as it likes, after a crash or on every instance, and each notice goes out once.
//!
//! Only the organization's *active* certificate is looked at: once rotation replaced a
//! certificate it is no longer active, and nothing is said about it any more.
//!
//! - `certificate.expiring`, once per (certificate, threshold) — the smallest threshold crossed
//!   (see [`crossed_threshold`]);
//! - `certificate.expired`, once per certificate;
//! - `certificate.not_attached`, once per certificate its latest proof found missing from the
//!   application (see [`not_attached`] for why not once per proof);
//! - `rotation.needs_administrator`, once per uploaded certificate whose renewal is due under
//!   `uploaded = warn_only` (no rotation attempt, so no point of change would ever say it).

use super::event::{EventType, NewNotice, NoticeData};
use super::links::PortalLinks;
use super::payload::{self, days_left, days_text, moment_text};
use crate::fleet::FleetRecord;
use crate::model::{CertificateState, StoredCertificate};
use crate::proof::ProofOutcome;
use crate::renewal::{
    AdministratorReason, RenewalDecision, RenewalSituation, active_certificate, renewal_decision,
    what_to_do_for_recorded,
};
use time::{Duration, OffsetDateTime};

/// The notices `record` calls for at `now`, with `thresholds_days` (any order).
pub fn due_notices(
    record: &FleetRecord,
    thresholds_days: &[u32],
    links: &PortalLinks,
    now: OffsetDateTime,
) -> Vec<NewNotice> {
    let Some(active) = record
        .active
        .as_ref()
        .filter(|c| c.state == CertificateState::Active)
    else {
        // No certificate yet is the organization's setup, not a surprise: the portal shows it.
        return Vec::new();
    };
    let watched = Watched {
        record,
        active,
        links,
        now,
        decision: decision(record, active, now),
    };
    if active.not_after <= now {
        // Expired says it all: it is not attached any more either, and no longer "expiring".
        return vec![watched.expired()];
    }
    let mut due = Vec::new();
    if not_attached(active) {
        due.push(watched.not_attached());
    }
    if let Some(threshold) = crossed_threshold(active.not_after, thresholds_days, now) {
        due.push(watched.expiring(threshold));
    }
    if watched.decision
        == (RenewalDecision::NeedsAdministrator {
            reason: AdministratorReason::UploadedWarnOnly,
        })
    {
        due.push(watched.uploaded_needs_administrator());
    }
    due
}

/// The smallest threshold (days before `end`) that `now` has reached, if any. Only the
/// smallest: when the clock passes several at once (the watcher was down for weeks, the clock
/// jumped, a short certificate was uploaded 10 days before its end), the larger ones are
/// already stale — a "30 days left" message when 10 are left is wrong, and two messages for one
/// moment are noise. Time only moves toward the end, so a skipped threshold is never sent later.
pub fn crossed_threshold(
    end: OffsetDateTime,
    thresholds_days: &[u32],
    now: OffsetDateTime,
) -> Option<u32> {
    thresholds_days
        .iter()
        .copied()
        .filter(|days| end - now <= Duration::days(i64::from(*days)))
        .min()
}

/// Whether the certificate's latest proof says the application does not list it. The notice is
/// once per certificate, not once per refused proof: every backup run and Check connection
/// records a new proof, so "per proof" would repeat the same news at every run. Each break
/// and repair of the connection is a `connection.broken` / `connection.restored` of its own.
pub fn not_attached(certificate: &StoredCertificate) -> bool {
    certificate
        .last_proof
        .as_ref()
        .is_some_and(|proof| proof.outcome == ProofOutcome::KeyNotRegistered)
}

fn decision(
    record: &FleetRecord,
    active: &StoredCertificate,
    now: OffsetDateTime,
) -> RenewalDecision {
    let renewal_view = active_certificate(std::slice::from_ref(active));
    renewal_decision(
        RenewalSituation {
            organization: record.organization.id,
            policy: &record.renewal.policy,
            state: &record.renewal.state,
            active: renewal_view.as_ref(),
        },
        now,
    )
}

struct Watched<'a> {
    record: &'a FleetRecord,
    active: &'a StoredCertificate,
    links: &'a PortalLinks,
    now: OffsetDateTime,
    decision: RenewalDecision,
}

impl Watched<'_> {
    fn notice(&self, event_type: EventType, occurrence: String, data: NoticeData) -> NewNotice {
        NewNotice {
            occurrence,
            event_type,
            organization: Some(self.record.organization.id),
            occurred_at: self.now,
            data,
            only_webhook: None,
        }
    }

    fn data(&self, reason: String, what_to_do: String) -> NoticeData {
        NoticeData {
            organization: Some(payload::organization(&self.record.organization)),
            certificate: Some(payload::certificate(self.active)),
            threshold_days: None,
            days_left: Some(days_left(self.active.not_after, self.now)),
            reason,
            what_to_do: Some(what_to_do),
            link: self.links.certificate(self.record.organization.id),
        }
    }

    fn name(&self) -> &str {
        &self.record.organization.name
    }

    fn expiring(&self, threshold: u32) -> NewNotice {
        let left = days_left(self.active.not_after, self.now);
        let reason = format!(
            "The certificate {} of {} ends {} ({}), and rotation has not replaced it.",
            self.active.sha1_thumbprint,
            self.name(),
            days_text(left),
            moment_text(self.active.not_after),
        );
        let mut data = self.data(reason, self.what_to_do_before_the_end());
        data.threshold_days = Some(threshold);
        self.notice(
            EventType::CertificateExpiring,
            format!("certificate.expiring:{}:{threshold}", self.active.id),
            data,
        )
    }

    /// What to do about an expiring certificate depends on why rotation has not replaced it.
    fn what_to_do_before_the_end(&self) -> String {
        let end = moment_text(self.active.not_after);
        let state = &self.record.renewal.state;
        match &self.decision {
            RenewalDecision::Disabled => format!(
                "Automatic renewal is off for {}. Use Rotate now on the certificate page, or generate or upload a new certificate before {end}.",
                self.name()
            ),
            RenewalDecision::NeedsAdministrator { reason } => reason.explanation().to_owned(),
            RenewalDecision::BackingOff { until } => {
                let failure = state.last_failure.as_ref();
                let last = failure
                    .map(|f| format!(", last with {}: {}", f.code, f.message))
                    .unwrap_or_default();
                let fix = failure
                    .and_then(|f| what_to_do_for_recorded(&f.code))
                    .unwrap_or("Look at the last failure on the certificate page.");
                format!(
                    "Rotation failed {} time(s){last}. It is tried again at {}. {fix} If it cannot succeed before {end}, generate or upload a new certificate.",
                    state.failed_attempts,
                    moment_text(*until)
                )
            }
            RenewalDecision::NotDue { at } => format!(
                "Rotation is planned for {} only. To renew sooner, use Rotate now on the certificate page, or change the renewal policy (renew_at_fraction).",
                moment_text(*at)
            ),
            RenewalDecision::Due => format!(
                "Rotation is due and starts at the next renewal pass. Nothing to do unless a rotation.failed notice follows; otherwise rotate, generate or upload before {end}."
            ),
        }
    }

    fn expired(&self) -> NewNotice {
        let reason = format!(
            "The certificate {} of {} ended on {}: Microsoft Entra ID refuses it, so backups of {} fail until a new certificate is active.",
            self.active.sha1_thumbprint,
            self.name(),
            moment_text(self.active.not_after),
            self.name(),
        );
        let what_to_do = AdministratorReason::ActiveExpired.explanation().to_owned();
        self.notice(
            EventType::CertificateExpired,
            format!("certificate.expired:{}", self.active.id),
            self.data(reason, what_to_do),
        )
    }

    fn not_attached(&self) -> NewNotice {
        let proof = self.active.last_proof.as_ref();
        let checked = proof.map(|p| moment_text(p.checked_at)).unwrap_or_default();
        let said = proof
            .and_then(|p| p.detail.as_deref())
            .map(|detail| format!(" Entra said: {detail}"))
            .unwrap_or_default();
        let reason = format!(
            "Microsoft Entra ID refused the certificate {} of {} on {checked}: the application no longer lists it.{said}",
            self.active.sha1_thumbprint,
            self.name(),
        );
        let what_to_do = AdministratorReason::NotAttached.explanation().to_owned();
        self.notice(
            EventType::CertificateNotAttached,
            format!("certificate.not_attached:{}", self.active.id),
            self.data(reason, what_to_do),
        )
    }

    fn uploaded_needs_administrator(&self) -> NewNotice {
        let reason = format!(
            "Renewal of {} is due, and its active certificate {} was uploaded (CA-issued), so tenantlink does not replace it by itself.",
            self.name(),
            self.active.sha1_thumbprint,
        );
        let what_to_do = AdministratorReason::UploadedWarnOnly
            .explanation()
            .to_owned();
        self.notice(
            EventType::RotationNeedsAdministrator,
            format!("rotation.needs_administrator:{}:uploaded", self.active.id),
            self.data(reason, what_to_do),
        )
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
