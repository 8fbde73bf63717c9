//! What a run tells the job log: counts, a status, and on failure the service's message verbatim
//! with a plain explanation and what to do, linking to the organization's certificate page
//! when the credential is the problem.

use time::OffsetDateTime;

use tenantlink_entra::{AadstsKind, Error as EntraClientError, GraphErrorKind};
use tenantlink_service::{Cloud, OrganizationId, PolicyId, RunId, RunStatus, RunTrigger};

/// The page where an administrator replaces the organization's certificate.
pub fn certificate_page(organization: OrganizationId) -> String {
    format!("/organizations/{organization}/settings/system")
}

/// One run of one policy, as it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub run_id: RunId,
    pub policy_id: PolicyId,
    pub organization_id: OrganizationId,
    pub trigger: RunTrigger,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    /// Users in scope that the run found.
    pub users: u32,
    /// Mailboxes read to the end (their delta link saved).
    pub mailboxes_completed: u32,
    pub items_new: u64,
    pub items_changed: u64,
    /// Items read again that had not changed (a resumed or full re-read).
    pub items_unchanged: u64,
    pub status: RunStatus,
    /// SHA-1 thumbprint (upper-case hex) of the certificate the run signed with.
    pub certificate_thumbprint: Option<String>,
    /// Why the run failed as a whole.
    pub failure: Option<RunFailure>,
    /// Mailboxes or users that could not be backed up in a run that otherwise worked.
    pub problems: Vec<RunFailure>,
}

impl RunReport {
    /// The text kept in the job log's error column.
    pub fn job_log_text(&self) -> Option<String> {
        let mut parts: Vec<String> = self.failure.iter().map(RunFailure::job_log_text).collect();
        parts.extend(self.problems.iter().map(RunFailure::job_log_text));
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }
}

/// Where in the run something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureStage {
    /// Loading the organization's certificate.
    Credential,
    /// Getting the app-only token from Entra ID.
    Authentication,
    ListingUsers,
    /// Reading one user's mailbox (by Graph user id or the reference in the scope).
    Mailbox {
        user: String,
    },
    /// Writing to tenantlink's database.
    Storage,
}

/// An explained failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub stage: FailureStage,
    /// "Entra ID", "Microsoft Graph", "tenantlink".
    pub service: &'static str,
    /// `AADSTS700027`, a Graph error code, or none.
    pub code: Option<String>,
    /// The service's own message, verbatim.
    pub message: String,
    pub explanation: String,
    pub remediation: String,
    /// A page of tenantlink where the remediation is done.
    pub remediation_link: Option<String>,
    /// The thumbprint Entra quoted as the one the client used (AADSTS700027).
    pub client_thumbprint: Option<String>,
    /// The credential is the problem: the organization's connection is broken until a run
    /// succeeds.
    pub credential_problem: bool,
}

impl RunFailure {
    pub fn job_log_text(&self) -> String {
        let mut text = format!("{}: {}", self.service, self.message);
        text.push_str(&format!("\n{}", self.explanation));
        text.push_str(&format!("\nWhat to do: {}", self.remediation));
        if let Some(link) = &self.remediation_link {
            text.push_str(&format!(" ({link})"));
        }
        text
    }

    /// No active certificate: nothing to sign with.
    pub fn no_certificate(organization: OrganizationId) -> Self {
        Self {
            stage: FailureStage::Credential,
            service: "tenantlink",
            code: None,
            message: "The organization has no active certificate.".to_owned(),
            explanation: "Backup policies sign in to Microsoft 365 with the organization's certificate, and none is active.".to_owned(),
            remediation: "Generate a new certificate or upload a custom certificate in Settings → System → SSL Certificate.".to_owned(),
            remediation_link: Some(certificate_page(organization)),
            client_thumbprint: None,
            credential_problem: true,
        }
    }

    /// The organization's cloud has no endpoints in this tenantlink (e.g. `sandbox` on a service
    /// running without the sandbox tenant): a configuration problem, not the certificate's.
    pub fn cloud_unavailable(cloud: Cloud) -> Self {
        Self {
            stage: FailureStage::Authentication,
            service: "tenantlink",
            code: None,
            message: format!("tenantlink knows no endpoints for the cloud '{cloud}'."),
            explanation: "Each organization is backed up through its own cloud's Entra ID and Graph, and this service has none configured for this organization's cloud.".to_owned(),
            remediation: "Configure the cloud's endpoints ([clouds.NAME] in the service configuration) or add the organization again with its real cloud (global, usgov or china).".to_owned(),
            remediation_link: None,
            client_thumbprint: None,
            credential_problem: false,
        }
    }

    pub fn storage(stage_detail: &str, error: &dyn std::error::Error) -> Self {
        Self {
            stage: FailureStage::Storage,
            service: "tenantlink",
            code: None,
            message: format!("{stage_detail}: {error}"),
            explanation: "tenantlink could not write the backup index to its database.".to_owned(),
            remediation: "Check the database's free space and availability, then run the policy again; nothing read so far is lost.".to_owned(),
            remediation_link: None,
            client_thumbprint: None,
            credential_problem: false,
        }
    }

    /// Explains an Entra/Graph client error met at `stage`.
    pub fn from_client_error(
        stage: FailureStage,
        organization: OrganizationId,
        error: &EntraClientError,
    ) -> Self {
        let certificate_link = Some(certificate_page(organization));
        match error {
            EntraClientError::Entra(e) => {
                let client_thumbprint = match &e.kind {
                    AadstsKind::AssertionKeyRejected(r) => r.client_thumbprint.clone(),
                    _ => None,
                };
                let explanation = tenantlink_service::remediation::explain_entra(e);
                let credential_problem = credential_kind(&e.kind);
                Self {
                    stage,
                    service: "Entra ID",
                    code: e
                        .codes
                        .last()
                        .map(|c| format!("AADSTS{c}"))
                        .or_else(|| Some(e.error.clone())),
                    message: e.description.clone(),
                    explanation: explanation.summary.to_owned(),
                    remediation: explanation.remediation.to_owned(),
                    remediation_link: credential_problem.then_some(certificate_link).flatten(),
                    client_thumbprint,
                    credential_problem,
                }
            }
            EntraClientError::Graph(e) => {
                let (explanation, remediation, credential_problem) = explain_graph_read(e.kind);
                Self {
                    stage,
                    service: "Microsoft Graph",
                    code: Some(e.code.clone()),
                    message: e.message.clone(),
                    explanation: explanation.to_owned(),
                    remediation: remediation.to_owned(),
                    remediation_link: credential_problem.then_some(certificate_link).flatten(),
                    client_thumbprint: None,
                    credential_problem,
                }
            }
            EntraClientError::Credential(_) => {
                let explanation = tenantlink_service::remediation::explain(error);
                Self {
                    stage,
                    service: "tenantlink",
                    code: None,
                    message: error.to_string(),
                    explanation: explanation.summary.to_owned(),
                    remediation: explanation.remediation.to_owned(),
                    remediation_link: certificate_link,
                    client_thumbprint: None,
                    credential_problem: true,
                }
            }
            other => {
                let explanation = tenantlink_service::remediation::explain(other);
                Self {
                    stage,
                    service: match other {
                        EntraClientError::UnexpectedResponse { service, .. } => service,
                        _ => "network",
                    },
                    code: None,
                    message: other.to_string(),
                    explanation: explanation.summary.to_owned(),
                    remediation: explanation.remediation.to_owned(),
                    remediation_link: None,
                    client_thumbprint: None,
                    credential_problem: false,
                }
            }
        }
    }

    /// Whether Entra said the key was expired (AADSTS700027, "The key used is expired.").
    pub fn is_expired_key(&self) -> bool {
        self.code.as_deref() == Some("AADSTS700027") && self.message.contains("expired")
    }
}

/// AADSTS errors that mean the organization's credential or app registration is wrong, as
/// opposed to a transient or client-side problem.
fn credential_kind(kind: &AadstsKind) -> bool {
    matches!(
        kind,
        AadstsKind::AssertionKeyRejected(_)
            | AadstsKind::ApplicationNotFound
            | AadstsKind::TenantNotFound
            | AadstsKind::WeakRsaKey
            | AadstsKind::NoKeyIdentifierInAssertion
            | AadstsKind::UnsupportedSigningAlgorithm
            | AadstsKind::InvalidClientSecret
            | AadstsKind::ClientSecretExpired
    )
}

/// Graph errors while reading users and mail (the entra crate's explanations are written for
/// changes to the app registration).
fn explain_graph_read(kind: GraphErrorKind) -> (&'static str, &'static str, bool) {
    match kind {
        GraphErrorKind::AuthorizationDenied => (
            "The backup application lacks the permission to read this data.",
            "Grant the application the User.Read.All and Mail.Read application permissions with admin consent in Entra ID.",
            false,
        ),
        GraphErrorKind::NotFound => (
            "Graph has no such user or mailbox (it may have been deleted or never had a mailbox).",
            "Remove the user from the policy's scope, or check the user in Microsoft 365.",
            false,
        ),
        GraphErrorKind::MissingOrMalformedToken => (
            "Graph refused the application's sign-in token.",
            "Run the policy again; if it keeps failing, generate a new certificate in Settings → System → SSL Certificate.",
            true,
        ),
        GraphErrorKind::Throttled => (
            "Graph kept throttling the application beyond the retry limit.",
            "Run the policy again later, or spread the schedules of large policies apart.",
            false,
        ),
        GraphErrorKind::CredentialPolicyViolation
        | GraphErrorKind::BadRequest
        | GraphErrorKind::Other => (
            "Microsoft Graph refused the request; its message says why.",
            "Run the policy again; if it keeps failing, send the job log (with the request id) to support.",
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantlink_entra::EntraError;

    #[test]
    fn expired_key_is_a_credential_problem_with_thumbprint_and_certificate_link() {
        let org: OrganizationId = "00000000-0000-4000-8000-000000000002".parse().unwrap();
        let body = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: 'ABCDEF0123', Found key 'Start=01/01/2026 00:00:00, End=01/01/2027 00:00:00']\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2027-01-02 00:00:00Z",
            "error_codes": [700027],
        });
        let error: EntraClientError = EntraError::parse(401, body.to_string().as_bytes())
            .unwrap()
            .into();
        let failure = RunFailure::from_client_error(FailureStage::Authentication, org, &error);
        assert!(failure.credential_problem);
        assert!(failure.is_expired_key());
        assert_eq!(failure.client_thumbprint.as_deref(), Some("ABCDEF0123"));
        assert_eq!(
            failure.remediation_link.as_deref(),
            Some("/organizations/00000000-0000-4000-8000-000000000002/settings/system")
        );
        let text = failure.job_log_text();
        assert!(text.contains("The key used is expired."), "{text}");
        assert!(
            text.contains("What to do: Generate a new certificate"),
            "{text}"
        );
    }
}
