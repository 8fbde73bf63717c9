//! The Renewal section of the certificate page: what renewal does now and when it is planned.

use super::layout::time_text;
use maud::{Markup, html};
use tenantlink_service::renewal::{RenewalDecision, RenewalStatus};

pub fn renewal_section(status: &RenewalStatus) -> Markup {
    let state = status.decision.as_str();
    html! {
        section aria-labelledby="renewal-heading" {
            h2 #renewal-heading { "Renewal" }
            p #renewal-state data-state=(state) {
                "Automatic renewal: " strong { (if status.automatic { "on" } else { "off" }) } ". "
                @match &status.decision {
                    RenewalDecision::NotDue { at } => { "Planned for " strong { (time_text(*at)) } "." }
                    RenewalDecision::Due => { "Due now." }
                    RenewalDecision::BackingOff { until } => {
                        "The last attempt failed; the next one starts at " strong { (time_text(*until)) } "."
                    }
                    RenewalDecision::NeedsAdministrator { reason } => {
                        strong { "An administrator is needed. " } (reason.explanation())
                    }
                    RenewalDecision::Disabled => { "Renew the certificate yourself before it expires." }
                }
            }
            @if let Some(failure) = &status.last_failure {
                p #renewal-failure {
                    "Last failure at " (time_text(failure.at)) " (attempt " (status.failed_attempts) "): "
                    code { (failure.code) } " — " (failure.message)
                }
            }
        }
    }
}
