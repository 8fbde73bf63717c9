//! The AADSTS codes an administrator meets on the device sign-in and the app-only token paths
//! each get their own kind (the entra client's) and a remediation (this crate's) that names
//! where to act (a place in Entra ID or on the certificate page), never the generic "send the
//! job log to support" of unknown codes. Entra's own text is kept verbatim whatever we add.
//! Moved here from tenantlink-entra with the texts.

use tenantlink_entra::test_util::parse_error as parse;
use tenantlink_entra::{AadstsKind, DeviceFlowError, Error, KeyRejectionReason};
use tenantlink_service::remediation::{explain, explain_entra};

/// What an unknown code is told: the fallback the codes below must not get.
fn generic_remediation() -> &'static str {
    explain_entra(&parse(400, "invalid_request", 900144, "text")).remediation
}

struct Case {
    error: &'static str,
    code: u64,
    /// Entra's text. Where the reference quotes a real response it is that text; the others
    /// (65001 as the sandbox renders it, 50076, 50079, 50105, 50020, 70000) are Entra's wording
    /// as commonly reported, not confirmed by the reference — only the code drives the kind.
    text: &'static str,
    kind: AadstsKind,
    /// Phrases the remediation must contain: the concrete place or action.
    names: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            error: "invalid_grant",
            code: 65001,
            text: "The user or administrator has not consented to use the application with ID '11111111-2222-3333-4444-555555555555' named 'tenantlink'. Send an interactive authorization request for this user and resource.",
            kind: AadstsKind::ConsentRequired,
            names: &[
                "Enterprise applications",
                "Permissions",
                "Grant admin consent",
            ],
        },
        Case {
            error: "invalid_grant",
            code: 50076,
            text: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.",
            kind: AadstsKind::MfaRequired,
            names: &["multi-factor prompt", "Sign-in logs", "Conditional Access"],
        },
        Case {
            error: "invalid_grant",
            code: 50079,
            text: "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.",
            kind: AadstsKind::MfaRegistrationRequired,
            names: &["Security info", "Authentication methods"],
        },
        Case {
            error: "invalid_grant",
            code: 53003,
            text: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
            kind: AadstsKind::BlockedByConditionalAccess,
            names: &[
                "Sign-in logs",
                "Conditional Access → Policies",
                "Certificates & secrets",
                "Settings → System → SSL Certificate",
            ],
        },
        Case {
            error: "invalid_grant",
            code: 50105,
            text: "Your administrator has configured the application tenantlink ('11111111-2222-3333-4444-555555555555') to block users unless they are specifically granted ('assigned') access to the application.",
            kind: AadstsKind::UserNotAssigned,
            names: &[
                "Enterprise applications",
                "Users and groups",
                "Assignment required",
            ],
        },
        Case {
            error: "invalid_grant",
            code: 50020,
            text: "User account 'someone@fabrikam.com' from identity provider 'https://sts.windows.net/fabrikam/' does not exist in tenant 'Contoso' and cannot access the application '11111111-2222-3333-4444-555555555555'(tenantlink) in that tenant.",
            kind: AadstsKind::UserFromOtherTenant,
            names: &["account of the organization's tenant", "Organizations page"],
        },
        Case {
            error: "unauthorized_client",
            code: 700016,
            text: "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            kind: AadstsKind::ApplicationNotFound,
            names: &[
                "App registrations",
                "Application (client) ID",
                "Directory (tenant) ID",
                "Enterprise applications",
            ],
        },
        Case {
            error: "invalid_client",
            code: 7000215,
            text: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.",
            kind: AadstsKind::InvalidClientSecret,
            names: &[
                "Settings → System → SSL Certificate",
                "Certificates & secrets → Client secrets",
            ],
        },
        Case {
            error: "invalid_client",
            code: 7000222,
            text: "The provided client secret keys for app '11111111-2222-3333-4444-555555555555' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
            kind: AadstsKind::ClientSecretExpired,
            names: &[
                "Settings → System → SSL Certificate",
                "Certificates & secrets → Client secrets",
            ],
        },
        Case {
            error: "invalid_resource",
            code: 500011,
            text: "The resource principal named https://graph.microsoft.com was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            kind: AadstsKind::ResourceNotFound,
            names: &[
                "cloud",
                "Organizations page",
                "Entra ID → Overview",
                "Permissions",
            ],
        },
        Case {
            error: "invalid_tenant",
            code: 90002,
            text: "Tenant 'contoso.onmicrosoft.de' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
            kind: AadstsKind::TenantNotFound,
            names: &[
                "Organizations page",
                "Entra ID → Overview",
                "Tenant ID",
                "cloud",
            ],
        },
        Case {
            error: "invalid_grant",
            code: 70000,
            text: "The provided value for the input parameter 'device_code' is not valid. This device code has already been redeemed.",
            kind: AadstsKind::InvalidGrant,
            names: &["Start the sign-in again", "Grant admin consent"],
        },
        Case {
            error: "invalid_client",
            code: 700024,
            text: "Client assertion is not within its valid time range. Current time: 2024-10-02T22:05:03.6755165Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2024-10-02T21:30:53.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            kind: AadstsKind::AssertionOutsideTimeRange,
            names: &["Current time", "NTP"],
        },
    ]
}

#[test]
fn each_code_has_its_kind_and_a_remediation_naming_where_to_act() {
    let generic = generic_remediation();
    for case in cases() {
        let status = if case.error == "invalid_client" {
            401
        } else {
            400
        };
        let e = parse(status, case.error, case.code, case.text);
        let code = case.code;
        assert_eq!(e.kind, case.kind, "AADSTS{code}");
        let explanation = explain_entra(&e);
        for name in case.names {
            assert!(
                explanation.remediation.contains(name),
                "AADSTS{code}: remediation lacks {name:?}: {}",
                explanation.remediation
            );
        }
        assert_ne!(explanation.remediation, generic, "AADSTS{code}");
        assert!(
            !explanation.remediation.contains("support"),
            "AADSTS{code}: {}",
            explanation.remediation
        );
        assert!(!explanation.summary.is_empty(), "AADSTS{code}");
        // Entra's words stay as Entra wrote them, trailer included.
        assert!(e.to_string().contains(case.text), "AADSTS{code}");
        assert!(e.to_string().contains("Correlation ID: 5fc87507"));
        assert_eq!(e.headline(), format!("AADSTS{code}: {}", case.text));
    }
}

#[test]
fn remediations_name_no_single_surface() {
    // Shown in the portal, the job log and the CLI: no "click here", no "above"/"below" layout.
    for case in cases() {
        let remediation = explain_entra(&parse(400, case.error, case.code, case.text)).remediation;
        for word in ["click", "below", "above"] {
            assert!(
                !remediation.to_ascii_lowercase().contains(word),
                "AADSTS{}: {word:?} in {remediation}",
                case.code
            );
        }
    }
}

#[test]
fn the_client_wide_explanation_is_the_specific_one() {
    // What the portal, job log and CLI call for a device sign-in's 65001 and an app-only 53003
    // (the entra tests prove those arrive as `Error::Entra` of that kind).
    for (code, phrase) in [(65001, "Grant admin consent"), (53003, "Sign-in logs")] {
        let case = cases().into_iter().find(|c| c.code == code).unwrap();
        let err = Error::from(parse(400, case.error, case.code, case.text));
        let explanation = explain(&err);
        assert!(
            explanation.remediation.contains(phrase),
            "{}",
            explanation.remediation
        );
        assert_eq!(explanation.summary, err.summary());
    }
}

#[test]
fn an_expired_key_points_to_the_certificate_page() {
    let text = "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: 'FEE7837AEDA22B9C13EF27ED6A4A5143F6B8F8E8', Found key 'Start=01/28/2018 16:00:00, End=01/28/2019 16:00:00', Please visit the Azure Portal]";
    let e = parse(401, "invalid_client", 700027, text);
    let AadstsKind::AssertionKeyRejected(r) = &e.kind else {
        panic!("{:?}", e.kind)
    };
    assert_eq!(r.reason, KeyRejectionReason::KeyExpired);
    assert!(
        explain_entra(&e)
            .remediation
            .contains("Settings → System → SSL Certificate")
    );
}

#[test]
fn assertion_shape_refusals_point_to_the_organizations_assertion_profile() {
    let algorithm = parse(
        401,
        "invalid_client",
        5002738,
        "Invalid JWT token. 'RS256' is not a supported signature algorithm. Supported signing algorithms are: 'PS256'",
    );
    assert_eq!(algorithm.kind, AadstsKind::UnsupportedSigningAlgorithm);
    let no_thumbprint = parse(
        401,
        "invalid_client",
        5002723,
        "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.",
    );
    assert_eq!(no_thumbprint.kind, AadstsKind::NoKeyIdentifierInAssertion);
    for e in [algorithm, no_thumbprint] {
        let remediation = explain_entra(&e).remediation;
        for name in [
            "assertion profile",
            "Assertion profile",
            "Organizations → <organization>",
        ] {
            assert!(remediation.contains(name), "{name:?} not in {remediation}");
        }
    }
}

#[test]
fn every_device_flow_failure_says_what_to_do() {
    let declined = || {
        Box::new(parse(
            400,
            "authorization_declined",
            70000,
            "The user declined to authorize the request.",
        ))
    };
    let failures = [
        DeviceFlowError::Declined(declined()),
        DeviceFlowError::Expired(declined()),
        DeviceFlowError::BadVerificationCode(declined()),
        DeviceFlowError::ExpiredLocally {
            expired_at: time::OffsetDateTime::UNIX_EPOCH,
        },
        DeviceFlowError::Cancelled,
    ];
    for failure in failures {
        let err = Error::DeviceFlow(failure);
        assert!(!explain(&err).remediation.is_empty(), "{err:?}");
        assert!(!explain(&err).summary.is_empty(), "{err:?}");
    }
}
