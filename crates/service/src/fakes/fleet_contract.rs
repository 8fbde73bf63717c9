//! The contract of [`FleetRepository`]: run against the in-memory fake (this crate's tests) and
//! SQLite and PostgreSQL (the store's tests). Each case takes a fresh, empty repository and a
//! way to add backup runs ([`BackupRuns`]: the fake keeps no backup policies, the store test
//! adds a policy and a run through its `BackupRepository`). Run them all with [`FLEET_CASES`].

use crate::backup::RunStatus;
use crate::fleet::{FleetRecord, FleetRepository, FleetRevision, LastBackup};
use crate::model::{
    CertificateSource, ConnectionState, NewOrganization, Organization, OrganizationId,
    StoredCertificate,
};
use crate::operation::{Operation, OperationKind, OperationStep};
use crate::ports::{BoxFuture, Repository};
use crate::proof::{CredentialProof, ProofOutcome, ProofSource};
use crate::renewal::{RenewalFailure, RenewalPolicy, RenewalRecord, RenewalState};
use std::sync::OnceLock;
use tenantlink_certificate::{Credential, GenerateOptions};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// What the fleet contract runs on: the repository and its fleet read.
pub trait FleetSubject: Repository + FleetRepository {}
impl<T: Repository + FleetRepository> FleetSubject for T {}

/// Adds a finished or running backup run of an organization (to the fake directly, to the
/// store through a policy of that organization).
pub trait BackupRuns: Send + Sync {
    fn add_backup_run(
        &self,
        organization: OrganizationId,
        status: RunStatus,
        started_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
    ) -> BoxFuture<'_, ()>;
}

/// One case: its name and the check, given a fresh repository and its backup runs.
pub type FleetCase = (
    &'static str,
    for<'a> fn(&'a dyn FleetSubject, &'a dyn BackupRuns) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        /// Every case of the fleet contract.
        pub const FLEET_CASES: &[FleetCase] =
            &[$((stringify!($name), |repo, runs| Box::pin($name(repo, runs)))),+];
    };
}

cases!(
    every_organization_is_listed_by_name_then_id_with_the_defaults,
    the_active_certificate_comes_with_its_latest_proof_and_the_renewal_record,
    the_latest_backup_run_of_each_organization_is_read,
    a_revision_moves_with_every_write_the_record_is_read_from,
);

const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);

fn credential(index: usize) -> &'static Credential {
    static CREDENTIALS: OnceLock<Vec<Credential>> = OnceLock::new();
    &CREDENTIALS.get_or_init(|| {
        (0..2)
            .map(|i| {
                tenantlink_certificate::generate(
                    &GenerateOptions {
                        subject_cn: format!("fleet contract {i}"),
                        ..GenerateOptions::default()
                    },
                    T0,
                )
                .expect("generate a test credential")
            })
            .collect()
    })[index]
}

async fn organization(repo: &dyn FleetSubject, name: &str, tenant: &str) -> Organization {
    repo.add_organization(
        NewOrganization {
            name: name.to_owned(),
            tenant: tenant.to_owned(),
            ..super::fixtures::new_organization()
        },
        T0,
    )
    .await
    .expect("add an organization")
}

async fn advance(repo: &dyn FleetSubject, op: &Operation, step: OperationStep) -> Operation {
    let next = Operation {
        step,
        version: op.version + 1,
        ..op.clone()
    };
    repo.update_operation(&next).await.expect("advance");
    repo.operation(next.id).await.expect("read the operation")
}

/// A certificate of `organization` made active the way a rotation does it.
async fn activated(
    repo: &dyn FleetSubject,
    organization: OrganizationId,
    index: usize,
) -> StoredCertificate {
    let stored = repo
        .save_certificate(
            organization,
            credential(index),
            CertificateSource::Generated,
            T0,
        )
        .await
        .expect("save a certificate");
    let rotation = Operation {
        kind: OperationKind::Rotate,
        step: OperationStep::CertificateStored,
        started_by: "renewal".into(),
        certificate: Some(stored.id),
        ..super::fixtures::operation(organization, T0)
    };
    let op = repo.create_operation(&rotation).await.expect("create");
    let op = advance(repo, &op, OperationStep::KeyAdded).await;
    let op = advance(repo, &op, OperationStep::Attached).await;
    repo.activate(&op, T0 + Duration::minutes(1))
        .await
        .expect("activate");
    repo.certificate(stored.id).await.expect("read it back")
}

fn names(records: &[FleetRecord]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r.organization.name.as_str())
        .collect()
}

async fn every_organization_is_listed_by_name_then_id_with_the_defaults(
    repo: &dyn FleetSubject,
    _runs: &dyn BackupRuns,
) {
    assert!(repo.fleet_snapshot().await.unwrap().is_empty());
    let zeta = organization(repo, "Zeta", "zeta.example").await;
    let alpha = organization(repo, "Alpha", "alpha.example").await;
    let twin_a = organization(repo, "Twin", "twin-a.example").await;
    let twin_b = organization(repo, "Twin", "twin-b.example").await;

    let fleet = repo.fleet_snapshot().await.unwrap();
    assert_eq!(names(&fleet), ["Alpha", "Twin", "Twin", "Zeta"]);
    let (first_twin, second_twin) = if twin_a.id < twin_b.id {
        (twin_a.id, twin_b.id)
    } else {
        (twin_b.id, twin_a.id)
    };
    assert_eq!(
        [fleet[1].organization.id, fleet[2].organization.id],
        [first_twin, second_twin],
        "same name: by id"
    );
    assert_eq!(fleet[0].organization, alpha);
    assert_eq!(fleet[3].organization, zeta);
    for record in &fleet {
        assert!(record.active.is_none());
        assert_eq!(record.renewal, RenewalRecord::default());
        assert_eq!(record.last_backup, None);
    }
}

async fn the_active_certificate_comes_with_its_latest_proof_and_the_renewal_record(
    repo: &dyn FleetSubject,
    _runs: &dyn BackupRuns,
) {
    let contoso = organization(repo, "Contoso", "contoso.example").await;
    let fabrikam = organization(repo, "Fabrikam", "fabrikam.example").await;
    let active = activated(repo, contoso.id, 0).await;
    // A pending certificate (a rotation on its way) is not the active one.
    repo.save_certificate(
        contoso.id,
        credential(1),
        CertificateSource::Generated,
        T0 + Duration::minutes(2),
    )
    .await
    .unwrap();
    for (outcome, minutes) in [
        (ProofOutcome::Accepted, 10),
        (ProofOutcome::KeyNotRegistered, 20),
    ] {
        let proof = CredentialProof {
            outcome,
            source: ProofSource::ConnectionCheck,
            checked_at: T0 + Duration::minutes(minutes),
            detail: None,
        };
        repo.record_proof(active.id, &proof).await.unwrap();
    }
    let policy = RenewalPolicy {
        automatic: false,
        ..RenewalPolicy::default()
    };
    repo.set_renewal_policy(contoso.id, &policy, T0)
        .await
        .unwrap();
    let state = RenewalState {
        failed_attempts: 2,
        last_attempt_at: Some(T0),
        last_failure: Some(RenewalFailure {
            at: T0,
            code: "ServiceUnavailable".into(),
            message: "try later".into(),
            retryable: true,
        }),
        next_renewal_at: Some(T0 + Duration::hours(1)),
        retry_not_before: None,
    };
    repo.set_renewal_state(contoso.id, &state, T0)
        .await
        .unwrap();

    let fleet = repo.fleet_snapshot().await.unwrap();
    assert_eq!(names(&fleet), ["Contoso", "Fabrikam"]);
    let record = &fleet[0];
    assert_eq!(record.organization.active_certificate, Some(active.id));
    let read = record.active.as_ref().expect("the active certificate");
    assert_eq!(read, &repo.certificate(active.id).await.unwrap());
    assert_eq!(
        read.last_proof.as_ref().map(|p| p.outcome),
        Some(ProofOutcome::KeyNotRegistered),
        "the latest proof"
    );
    assert_eq!(record.renewal, RenewalRecord { policy, state });
    assert_eq!(fleet[1].organization.id, fabrikam.id);
    assert!(fleet[1].active.is_none());
    assert_eq!(fleet[1].renewal, RenewalRecord::default());
}

async fn the_latest_backup_run_of_each_organization_is_read(
    repo: &dyn FleetSubject,
    runs: &dyn BackupRuns,
) {
    let contoso = organization(repo, "Contoso", "contoso.example").await;
    let fabrikam = organization(repo, "Fabrikam", "fabrikam.example").await;
    let northwind = organization(repo, "Northwind", "northwind.example").await;
    let at = |hours: i64| T0 + Duration::hours(hours);
    // Contoso: a newer failure after an older success (added out of order).
    runs.add_backup_run(contoso.id, RunStatus::Failed, at(5), Some(at(6)))
        .await;
    runs.add_backup_run(contoso.id, RunStatus::Success, at(1), Some(at(2)))
        .await;
    // Fabrikam: an older warning, then a run still in progress.
    runs.add_backup_run(fabrikam.id, RunStatus::Warning, at(1), Some(at(3)))
        .await;
    runs.add_backup_run(fabrikam.id, RunStatus::Running, at(4), None)
        .await;

    let fleet = repo.fleet_snapshot().await.unwrap();
    let by_id = |id: OrganizationId| {
        fleet
            .iter()
            .find(|r| r.organization.id == id)
            .expect("listed")
            .last_backup
            .clone()
    };
    assert_eq!(
        by_id(contoso.id),
        Some(LastBackup {
            status: RunStatus::Failed,
            started_at: at(5),
            finished_at: Some(at(6)),
        })
    );
    assert_eq!(
        by_id(fabrikam.id),
        Some(LastBackup {
            status: RunStatus::Running,
            started_at: at(4),
            finished_at: None,
        })
    );
    assert_eq!(by_id(northwind.id), None);
}

/// Each organization's revision, by organization.
async fn revisions(repo: &dyn FleetSubject) -> std::collections::HashMap<OrganizationId, i64> {
    repo.fleet_revisions()
        .await
        .expect("read the revisions")
        .into_iter()
        .map(
            |FleetRevision {
                 organization,
                 revision,
             }| (organization, revision),
        )
        .collect()
}

async fn a_revision_moves_with_every_write_the_record_is_read_from(
    repo: &dyn FleetSubject,
    runs: &dyn BackupRuns,
) {
    let contoso = organization(repo, "Contoso", "contoso.example").await;
    let fabrikam = organization(repo, "Fabrikam", "fabrikam.example").await;
    let mut before = revisions(repo).await;
    assert_eq!(before.len(), 2);
    assert_eq!(revisions(repo).await, before, "reading changes nothing");

    // Each write moves the revision of its organization only.
    let mut expect_moved = async |what: &str, moved: OrganizationId| {
        let after = revisions(repo).await;
        assert_ne!(after[&moved], before[&moved], "{what}: its revision moves");
        for (id, revision) in &after {
            if *id != moved {
                assert_eq!(*revision, before[id], "{what}: no other revision moves");
            }
        }
        before = after;
    };
    let active = activated(repo, contoso.id, 0).await;
    expect_moved("activation", contoso.id).await;
    let proof = CredentialProof::accepted(ProofSource::BackupRun, T0 + Duration::hours(1));
    repo.record_proof(active.id, &proof).await.unwrap();
    expect_moved("a proof", contoso.id).await;
    let state = RenewalState {
        failed_attempts: 1,
        ..RenewalState::default()
    };
    repo.set_renewal_state(fabrikam.id, &state, T0)
        .await
        .unwrap();
    expect_moved("a renewal state", fabrikam.id).await;
    let policy = RenewalPolicy {
        automatic: false,
        ..RenewalPolicy::default()
    };
    repo.set_renewal_policy(fabrikam.id, &policy, T0)
        .await
        .unwrap();
    expect_moved("a renewal policy", fabrikam.id).await;
    runs.add_backup_run(fabrikam.id, RunStatus::Success, T0, Some(T0))
        .await;
    expect_moved("a backup run", fabrikam.id).await;
    repo.set_connection_state(
        contoso.id,
        ConnectionState::Broken,
        Some("AADSTS700027"),
        T0,
    )
    .await
    .unwrap();
    expect_moved("the connection", contoso.id).await;

    // The records of the organizations asked for, as the whole snapshot has them.
    let whole = repo.fleet_snapshot().await.unwrap();
    let only = repo.fleet_records(&[fabrikam.id]).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(format!("{:?}", only[0]), format!("{:?}", whole[1]));
    let both = repo
        .fleet_records(&[fabrikam.id, contoso.id])
        .await
        .unwrap();
    assert_eq!(names(&both), ["Contoso", "Fabrikam"], "by name");
    assert!(
        repo.fleet_records(&[OrganizationId::new()])
            .await
            .unwrap()
            .is_empty()
    );
}
