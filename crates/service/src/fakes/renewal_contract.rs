//! The renewal part of the [`Repository`] contract: run against the in-memory fake (this
//! crate's tests) and SQLite and PostgreSQL (the store's tests). Each case takes a fresh,
//! empty repository. Run them all with [`RENEWAL_CASES`].

use crate::model::{NewOrganization, Organization, OrganizationId};
use crate::ports::{BoxFuture, Repository, RepositoryError};
use crate::renewal::{
    RenewAtFraction, RenewalFailure, RenewalPolicy, RenewalRecord, RenewalState,
    UploadedCertificates,
};
use time::Duration;
use time::macros::datetime;

/// One case: its name and the check, given a fresh repository.
pub type RenewalCase = (
    &'static str,
    for<'a> fn(&'a dyn Repository) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        /// Every case of the renewal contract.
        pub const RENEWAL_CASES: &[RenewalCase] =
            &[$((stringify!($name), |repo| Box::pin($name(repo)))),+];
    };
}

cases!(
    an_organization_starts_with_the_default_policy_and_an_empty_state,
    policy_and_state_are_written_and_read_back_each_keeping_the_other,
    renewal_of_an_unknown_organization_is_not_found,
    a_renewal_claim_has_one_holder_until_it_expires_or_is_released,
);

async fn organization(repo: &dyn Repository, name: &str) -> Organization {
    repo.add_organization(
        NewOrganization {
            name: name.to_owned(),
            tenant: format!("{}.example", name.to_ascii_lowercase()),
            ..super::fixtures::new_organization()
        },
        datetime!(2026-12-01 09:00 UTC),
    )
    .await
    .expect("add an organization")
}

fn custom_policy() -> RenewalPolicy {
    RenewalPolicy {
        automatic: false,
        lifetime_days: Some(180),
        tenant_max_lifetime_days: Some(90),
        renew_at: RenewAtFraction::new(3, 4).unwrap(),
        jitter: Duration::hours(6),
        backoff_base: Duration::minutes(2),
        backoff_cap: Duration::hours(3),
        uploaded: UploadedCertificates::Rotate,
    }
}

fn failing_state() -> RenewalState {
    RenewalState {
        failed_attempts: 3,
        last_attempt_at: Some(datetime!(2026-12-02 10:00 UTC)),
        last_failure: Some(RenewalFailure {
            at: datetime!(2026-12-02 10:00:05 UTC),
            code: "Directory_ResourceSizeExceeded".into(),
            message: "The directory object quota limit has been exceeded.".into(),
            retryable: false,
        }),
        next_renewal_at: Some(datetime!(2026-12-02 10:20 UTC)),
        retry_not_before: Some(datetime!(2026-12-02 10:15 UTC)),
    }
}

async fn an_organization_starts_with_the_default_policy_and_an_empty_state(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    assert_eq!(
        repo.renewal(org.id).await.unwrap(),
        RenewalRecord::default()
    );
}

async fn policy_and_state_are_written_and_read_back_each_keeping_the_other(repo: &dyn Repository) {
    let at = datetime!(2026-12-02 11:00 UTC);
    let first = organization(repo, "Contoso").await;
    let second = organization(repo, "Fabrikam").await;

    // State first: the policy stays the default.
    repo.set_renewal_state(first.id, &failing_state(), at)
        .await
        .unwrap();
    assert_eq!(
        repo.renewal(first.id).await.unwrap(),
        RenewalRecord {
            policy: RenewalPolicy::default(),
            state: failing_state(),
        }
    );
    // Then the policy: the state stays.
    let written = repo
        .set_renewal_policy(first.id, &custom_policy(), at)
        .await
        .unwrap();
    let both = RenewalRecord {
        policy: custom_policy(),
        state: failing_state(),
    };
    assert_eq!(written, both);
    assert_eq!(repo.renewal(first.id).await.unwrap(), both);
    // A success clears the state; the policy stays.
    repo.set_renewal_state(first.id, &RenewalState::default(), at)
        .await
        .unwrap();
    assert_eq!(
        repo.renewal(first.id).await.unwrap(),
        RenewalRecord {
            policy: custom_policy(),
            state: RenewalState::default(),
        }
    );
    // Another organization is untouched.
    assert_eq!(
        repo.renewal(second.id).await.unwrap(),
        RenewalRecord::default()
    );
    // Policy first on a fresh organization: the state stays empty.
    assert_eq!(
        repo.set_renewal_policy(second.id, &custom_policy(), at)
            .await
            .unwrap(),
        RenewalRecord {
            policy: custom_policy(),
            state: RenewalState::default(),
        }
    );
}

async fn renewal_of_an_unknown_organization_is_not_found(repo: &dyn Repository) {
    let unknown = OrganizationId::new();
    let at = datetime!(2026-12-02 11:00 UTC);
    assert!(matches!(
        repo.renewal(unknown).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.set_renewal_policy(unknown, &custom_policy(), at).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.set_renewal_state(unknown, &failing_state(), at).await,
        Err(RepositoryError::NotFound { .. })
    ));
}

async fn a_renewal_claim_has_one_holder_until_it_expires_or_is_released(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let other = organization(repo, "Fabrikam").await;
    let now = datetime!(2026-12-02 11:00 UTC);
    let until = now + Duration::minutes(10);

    assert!(repo.claim_renewal(org.id, "a", now, until).await.unwrap());
    assert!(
        !repo.claim_renewal(org.id, "b", now, until).await.unwrap(),
        "another holder's claim runs"
    );
    assert!(
        repo.claim_renewal(org.id, "a", now, until).await.unwrap(),
        "the holder may renew its own claim"
    );
    assert!(
        repo.claim_renewal(other.id, "b", now, until).await.unwrap(),
        "claims are per organization"
    );
    // Releasing someone else's claim does nothing.
    repo.release_renewal(org.id, "b").await.unwrap();
    assert!(!repo.claim_renewal(org.id, "b", now, until).await.unwrap());
    // An expired claim may be taken.
    let later = until + Duration::seconds(1);
    assert!(
        repo.claim_renewal(org.id, "b", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    assert!(!repo.claim_renewal(org.id, "a", later, later).await.unwrap());
    // Released, it is free again.
    repo.release_renewal(org.id, "b").await.unwrap();
    assert!(repo.claim_renewal(org.id, "a", later, later).await.unwrap());
    // A claim leaves the policy and state alone.
    assert_eq!(
        repo.renewal(org.id).await.unwrap(),
        RenewalRecord::default()
    );
    assert!(matches!(
        repo.claim_renewal(OrganizationId::new(), "a", now, until)
            .await,
        Err(RepositoryError::NotFound { .. })
    ));
}
