//! The Renewal section of the certificate page: what renewal does now and when it is planned,
//! the last failure with what to do, and the previous key while it overlaps the new one.

use super::layout::{thumbprint, time_text};
use crate::renewal_view::{PreviousKey, what_to_do};
use maud::{Markup, html};
use tenantlink_service::renewal::{RenewalDecision, RenewalStatus};

pub fn renewal_section(status: &RenewalStatus, previous_key: Option<&PreviousKey>) -> Markup {
    let state = status.decision.as_str();
    html! {
        section aria-labelledby="renewal-heading" {
            h2 #renewal-heading { "Renewal" }
            p #renewal-state data-state=(state) {
                "Automatic renewal: " strong { (if status.automatic { "on" } else { "off" }) } ". "
                @match &status.decision {
                    RenewalDecision::NotDue { at } => { "Planned for " strong #renewal-planned { (time_text(*at)) } "." }
                    RenewalDecision::Due => { "Due now." }
                    RenewalDecision::BackingOff { until } => {
                        "The last attempt failed; the next one starts at " strong #renewal-planned { (time_text(*until)) } "."
                    }
                    RenewalDecision::NeedsAdministrator { reason } => {
                        strong { "An administrator is needed. " } (reason.explanation())
                    }
                    RenewalDecision::Disabled => { "Renew the certificate yourself before it expires." }
                }
            }
            @if let Some(failure) = &status.last_failure {
                div #renewal-failure data-retryable=(failure.retryable) {
                    p {
                        "Last failure at " (time_text(failure.at)) " (attempt " (status.failed_attempts) "): "
                        code { (failure.code) } " — " (failure.message)
                    }
                    p { strong { "What to do: " } (what_to_do(failure)) }
                }
            }
            @if let Some(key) = previous_key {
                div #previous-key {
                    p {
                        "The previous key " (thumbprint(&key.sha1_thumbprint))
                        " stays on the application beside the new one since " (time_text(key.retired_at)) ", so that nothing signed with it breaks. "
                        @match key.planned_removal {
                            Some(at) => { "tenantlink plans to remove it at " strong #previous-key-removal { (time_text(at)) } "." }
                            None => { "tenantlink removes it once the new key has been used successfully." }
                        }
                    }
                }
            }
        }
    }
}
