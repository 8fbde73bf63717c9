//! The administrator's notice settings (thresholds, default recipients, e-mail mode and
//! types), each organization's own recipients, and the notices recorded. Viewing needs `View`;
//! every change needs `ManageNotices` and is audited (from and to).

use super::event::Notice;
use super::ports::NoticeSettings;
use super::service::Notices;
use super::validate;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::ServiceResult;
use crate::model::OrganizationId;

/// The most notices one read returns.
pub const MAX_NOTICES: u32 = 500;

fn summary(settings: &NoticeSettings) -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "thresholds [{}] days; default recipients {}; e-mail {} at {:02}:00 UTC for {}",
        settings
            .expiry_thresholds_days
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        list(settings.default_recipients.clone()),
        settings.email_mode.as_str(),
        settings.digest_hour_utc,
        list(
            settings
                .email_event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect()
        ),
    )
}

impl Notices {
    pub async fn notice_settings(&self, caller: &Caller) -> ServiceResult<NoticeSettings> {
        caller.require(Permission::View)?;
        Ok(self.notices.notice_settings().await?)
    }

    /// Validates and stores the settings (thresholds sorted descending, recipients without
    /// duplicates); returns them as stored. A change to what is set audits nothing.
    pub async fn set_notice_settings(
        &self,
        caller: &Caller,
        settings: &NoticeSettings,
    ) -> ServiceResult<NoticeSettings> {
        caller.require(Permission::ManageNotices)?;
        let settings = validate::settings(settings)?;
        let before = self.notices.notice_settings().await?;
        if before == settings {
            return Ok(settings);
        }
        self.notices
            .set_notice_settings(&settings, self.now())
            .await?;
        self.audit(
            caller,
            AuditAction::NoticeSettingsChanged,
            None,
            AuditOutcome::Success,
            format!("from {} to {}", summary(&before), summary(&settings)),
        )
        .await;
        Ok(settings)
    }

    /// The organization's own e-mail recipients (empty: the default recipients apply).
    pub async fn organization_recipients(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Vec<String>> {
        caller.require(Permission::View)?;
        self.repository.organization(organization).await?;
        Ok(self.notices.organization_recipients(organization).await?)
    }

    /// Sets the organization's own recipients (`[]`: back to the default ones).
    pub async fn set_organization_recipients(
        &self,
        caller: &Caller,
        organization: OrganizationId,
        recipients: &[String],
    ) -> ServiceResult<Vec<String>> {
        caller.require(Permission::ManageNotices)?;
        let recipients = validate::recipients("recipients", recipients)?;
        let named = self.repository.organization(organization).await?;
        let before = self.notices.organization_recipients(organization).await?;
        if before == recipients {
            return Ok(recipients);
        }
        self.notices
            .set_organization_recipients(organization, &recipients, self.now())
            .await?;
        let text = |list: &[String]| {
            if list.is_empty() {
                "the default recipients".to_owned()
            } else {
                list.join(", ")
            }
        };
        self.audit(
            caller,
            AuditAction::NoticeRecipientsChanged,
            Some(organization),
            AuditOutcome::Success,
            format!(
                "{}: from {} to {}",
                named.name,
                text(&before),
                text(&recipients)
            ),
        )
        .await;
        Ok(recipients)
    }

    /// The notices recorded, newest first; `organization` narrows to one.
    pub async fn notices(
        &self,
        caller: &Caller,
        organization: Option<OrganizationId>,
        limit: u32,
    ) -> ServiceResult<Vec<Notice>> {
        caller.require(Permission::View)?;
        let limit = limit.clamp(1, MAX_NOTICES);
        Ok(self.notices.notices(organization, limit).await?)
    }
}
