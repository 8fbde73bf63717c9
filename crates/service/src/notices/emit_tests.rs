use super::*;
use crate::cloud::Cloud;
use crate::model::{NewOrganization, OrganizationId};
use crate::operation::{OperationFailure, OperationId, OperationKind};
use crate::renewal::{RenewalFailure, RenewalState};
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn org(connection: ConnectionState) -> Organization {
    Organization {
        connection,
        last_error: (connection == ConnectionState::Broken)
            .then(|| "AADSTS700027: key not found".into()),
        ..NewOrganization {
            name: "Contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            cloud: Cloud::Sandbox,
            app_id: "app".into(),
        }
        .added(OrganizationId::new(), AT)
    }
}

fn rotation(step: OperationStep, failure: Option<OperationFailure>) -> Operation {
    Operation {
        id: OperationId::new(),
        organization: OrganizationId::new(),
        kind: OperationKind::Rotate,
        step,
        started_by: "renewal".into(),
        started_at: AT,
        updated_at: AT,
        version: 3,
        sign_in: None,
        signed_in_as: None,
        certificate: None,
        sha1_thumbprint: None,
        replaces: None,
        failure,
        sign_in_holder: None,
        heartbeat_at: None,
    }
}

fn failed_with(code: &str, retryable: bool) -> (Operation, RenewalRecord) {
    let operation = rotation(
        OperationStep::Failed,
        Some(OperationFailure {
            code: code.into(),
            message: "Graph said no.".into(),
            remediation: "Remove unused keys.".into(),
        }),
    );
    let record = RenewalRecord {
        state: RenewalState {
            failed_attempts: 1,
            last_failure: Some(RenewalFailure {
                at: AT,
                code: code.into(),
                message: "Graph said no.".into(),
                retryable,
            }),
            ..RenewalState::default()
        },
        ..RenewalRecord::default()
    };
    (operation, record)
}

#[test]
fn a_rotations_end_is_succeeded_failed_or_needs_an_administrator() {
    let links = PortalLinks::default();
    let organization = org(ConnectionState::Connected);
    let done = rotation(OperationStep::Succeeded, None);
    let notice = rotation_notice(
        &links,
        &organization,
        &done,
        None,
        &RenewalRecord::default(),
        AT,
    )
    .unwrap();
    assert_eq!(notice.event_type, EventType::RotationSucceeded);
    assert_eq!(notice.occurrence, format!("rotation.succeeded:{}", done.id));
    assert_eq!(notice.data.what_to_do, None);

    let (operation, record) = failed_with("directory_unavailable", true);
    let notice = rotation_notice(&links, &organization, &operation, None, &record, AT).unwrap();
    assert_eq!(notice.event_type, EventType::RotationFailed);
    assert_eq!(
        notice.occurrence,
        format!("rotation.failed:{}", operation.id)
    );
    assert!(
        notice
            .data
            .reason
            .contains("directory_unavailable: Graph said no.")
    );
    let what = notice.data.what_to_do.unwrap();
    // The default backoff: 5 minutes after the first failure.
    assert!(
        what.contains("tries again at 2026-12-01 10:05 UTC"),
        "{what}"
    );
    assert!(what.contains("Remove unused keys."), "{what}");

    let (operation, record) = failed_with("Directory_ResourceSizeExceeded", false);
    let notice = rotation_notice(&links, &organization, &operation, None, &record, AT).unwrap();
    assert_eq!(notice.event_type, EventType::RotationNeedsAdministrator);
    assert_eq!(
        notice.occurrence,
        format!("rotation.needs_administrator:{}", operation.id)
    );
    assert_eq!(
        notice.data.what_to_do.as_deref(),
        Some("Remove unused keys.")
    );
}

#[test]
fn a_rotation_lost_to_a_concurrent_change_or_still_running_says_nothing() {
    let links = PortalLinks::default();
    let organization = org(ConnectionState::Connected);
    let (mut operation, record) = failed_with("concurrent_change", true);
    assert!(rotation_notice(&links, &organization, &operation, None, &record, AT).is_none());
    operation.step = OperationStep::CertificateStored;
    operation.failure = None;
    assert!(rotation_notice(&links, &organization, &operation, None, &record, AT).is_none());
}

#[test]
fn only_a_change_into_or_out_of_broken_is_told() {
    use ConnectionState::{Broken, Connected, Unknown};
    let links = PortalLinks::new(Some("https://tl.example"));
    let told = |before, after| {
        let before = org(before);
        let after = Organization {
            id: before.id,
            ..org(after)
        };
        connection_notice(&links, &before, &after, None, AT).map(|n| n.event_type)
    };
    assert_eq!(told(Connected, Broken), Some(EventType::ConnectionBroken));
    assert_eq!(told(Unknown, Broken), Some(EventType::ConnectionBroken));
    assert_eq!(told(Broken, Connected), Some(EventType::ConnectionRestored));
    assert_eq!(told(Broken, Broken), None);
    assert_eq!(told(Connected, Connected), None);
    assert_eq!(told(Unknown, Connected), None);

    let before = org(Connected);
    let after = Organization {
        id: before.id,
        ..org(Broken)
    };
    let notice = connection_notice(&links, &before, &after, None, AT).unwrap();
    assert!(notice.data.reason.contains("AADSTS700027: key not found"));
    assert!(notice.data.link.ends_with("/settings/system"));
}

#[test]
fn a_backup_refused_by_entra_is_one_notice_per_run() {
    let organization = org(ConnectionState::Broken);
    let failure = BackupCredentialFailure {
        run: RunId::new(),
        message: "Entra ID answered AADSTS7000215: Invalid client secret.".into(),
        explanation: "The credential was refused.".into(),
        remediation: "Generate a new certificate.".into(),
    };
    let notice = backup_notice(&PortalLinks::default(), &organization, None, &failure, AT);
    assert_eq!(notice.event_type, EventType::BackupCredentialFailed);
    assert_eq!(
        notice.occurrence,
        format!("backup.credential_failed:{}", failure.run)
    );
    assert!(notice.data.reason.contains("AADSTS7000215"));
    assert_eq!(
        notice.data.what_to_do.as_deref(),
        Some("Generate a new certificate.")
    );
    assert_eq!(
        notice.data.link,
        format!("/organizations/{}", organization.id)
    );
}
