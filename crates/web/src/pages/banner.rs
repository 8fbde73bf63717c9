//! The certificate banner of the organization and policy pages: shown when backups cannot sign
//! in, or soon will not, with the way to the page that fixes it.

use super::layout::time_text;
use maud::{Markup, html};
use tenantlink_service::renewal::RenewalStatus;
use tenantlink_service::{CertificatePage, CertificateStatus, OrganizationId};

/// Settings → System → SSL Certificate of an organization.
pub fn certificate_settings_href(organization: OrganizationId) -> String {
    format!("/organizations/{organization}/settings/system")
}

/// Nothing while the certificate is valid.
pub fn certificate_banner(page: &CertificatePage) -> Markup {
    let active = page.active.as_ref();
    let message = match page.status {
        CertificateStatus::Valid => return html! {},
        CertificateStatus::Expired => format!(
            "The certificate expired on {}. Backup policies of this organization cannot sign in until an administrator generates a new certificate or uploads one.",
            active.map_or_else(String::new, |a| time_text(a.valid_to))
        ),
        CertificateStatus::ExpiringSoon => {
            let days = active.map_or(0, |a| a.days_left);
            format!(
                "The certificate expires in {days} {}, on {}. Replace it before then so that backups keep running.",
                if days == 1 { "day" } else { "days" },
                active.map_or_else(String::new, |a| time_text(a.valid_to))
            )
        }
        CertificateStatus::NotAttached => "The active certificate is no longer attached to the backup application in Entra ID, so backups cannot sign in. Generate a new certificate or upload one that is attached.".to_owned(),
        CertificateStatus::None => "This organization has no certificate. Backup policies cannot sign in until an administrator generates a new certificate or uploads one.".to_owned(),
    };
    let class = if page.status == CertificateStatus::ExpiringSoon {
        "notice"
    } else {
        "error"
    };
    html! {
        div #certificate-banner class=(class) role="alert" data-state=(page.status.as_str()) {
            p { strong { "Certificate: " (page.status.label()) ". " } (message) }
            p {
                a href=(certificate_settings_href(page.organization.id)) {
                    "Settings → System → SSL Certificate"
                }
            }
        }
    }
}

/// When renewal decided that an administrator must act ("needs an administrator"): why, and the
/// way to the certificate page. Nothing otherwise.
pub fn renewal_banner(organization: OrganizationId, status: &RenewalStatus) -> Markup {
    let Some(reason) = status.administrator_reason() else {
        return html! {};
    };
    html! {
        div #renewal-banner .error role="alert" data-reason=(crate::renewal_view::reason_name(reason)) {
            p { strong { "Rotation needs an administrator. " } (reason.explanation()) }
            p {
                a href=(certificate_settings_href(organization)) {
                    "Settings → System → SSL Certificate"
                }
            }
        }
    }
}

/// The short marker of the organizations list, with the explanation as its title.
pub fn renewal_marker(status: &RenewalStatus) -> Markup {
    match status.administrator_reason() {
        Some(reason) => html! {
            span.marker data-renewal="needs_administrator" title=(reason.explanation()) {
                "Rotation needs an administrator"
            }
        },
        None => html! {},
    }
}
