//! The backup part of the store's behaviour suite (policies, runs, the mailbox item index,
//! delta links), run against SQLite and PostgreSQL with the same harness as `store_suite`.

mod harness;

use harness::fixtures::{T0, item, organization, policy};
use harness::{RawParam, TestDb};
use tenantlink_service::{
    BackupPolicy, BackupRepository, BackupScope, MailboxItem, PolicyId, RepositoryError, RunStatus,
    RunSummary, RunTrigger, UpsertOutcome,
};
use tenantlink_store::{Conflict, StoreError};
use time::Duration;

backend_tests!(
    mailbox_items_upsert_without_duplicates,
    delta_link_is_kept_across_a_failed_run_and_resumed,
    one_running_backup_per_policy_and_due_policies,
    due_policies_come_oldest_first_then_by_id_up_to_the_limit,
    due_policies_among_reads_only_the_ids_asked,
    backup_values_that_do_not_parse_are_corrupt_not_defaulted,
);

// ---------------------------------------------------------------- backups

async fn mailbox_items_upsert_without_duplicates(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let policy = policy(store, org.id, None).await;
    let run = store
        .start_run(policy.id, RunTrigger::Manual, T0)
        .await
        .unwrap();

    let first = item(org.id, "adele", "msg-1", b"hash-1");
    assert_eq!(
        store.upsert_mailbox_item(&first, run.id).await.unwrap(),
        UpsertOutcome::Inserted
    );
    assert_eq!(
        store.upsert_mailbox_item(&first, run.id).await.unwrap(),
        UpsertOutcome::Unchanged
    );
    let edited = MailboxItem {
        subject: "Edited".into(),
        ..item(org.id, "adele", "msg-1", b"hash-2")
    };
    assert_eq!(
        store.upsert_mailbox_item(&edited, run.id).await.unwrap(),
        UpsertOutcome::Changed
    );
    // Same message id in another mailbox is a different item.
    assert_eq!(
        store
            .upsert_mailbox_item(&item(org.id, "bob", "msg-1", b"hash-1"), run.id)
            .await
            .unwrap(),
        UpsertOutcome::Inserted
    );

    assert_eq!(
        store.mailbox_items(org.id, "adele").await.unwrap(),
        vec![edited]
    );
    assert_eq!(store.mailbox_items(org.id, "bob").await.unwrap().len(), 1);
}

async fn delta_link_is_kept_across_a_failed_run_and_resumed(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let policy = policy(store, org.id, None).await;
    assert_eq!(
        store.delta_link(policy.id, "adele").await.unwrap(),
        None,
        "first read is full"
    );

    // Run 1 reads two messages and completes: its delta link is kept.
    let run1 = store
        .start_run(policy.id, RunTrigger::Scheduled, T0)
        .await
        .unwrap();
    for m in ["m1", "m2"] {
        store
            .upsert_mailbox_item(&item(org.id, "adele", m, m.as_bytes()), run1.id)
            .await
            .unwrap();
    }
    store
        .save_delta_link(
            policy.id,
            "adele",
            "https://graph/delta?token=1",
            run1.id,
            T0,
        )
        .await
        .unwrap();
    store
        .finish_run(
            run1.id,
            &RunSummary {
                status: RunStatus::Success,
                users: 1,
                items_new: 2,
                items_changed: 0,
                error_text: None,
            },
            T0,
        )
        .await
        .unwrap();

    // Run 2 reads a new message, then the connection drops before the read completes.
    let t2 = T0 + Duration::hours(1);
    let run2 = store
        .start_run(policy.id, RunTrigger::Scheduled, t2)
        .await
        .unwrap();
    assert_eq!(
        store
            .upsert_mailbox_item(&item(org.id, "adele", "m3", b"m3"), run2.id)
            .await
            .unwrap(),
        UpsertOutcome::Inserted
    );
    store
        .finish_run(
            run2.id,
            &RunSummary {
                status: RunStatus::Failed,
                users: 1,
                items_new: 1,
                items_changed: 0,
                error_text: Some("connection reset".into()),
            },
            t2,
        )
        .await
        .unwrap();
    let kept = store
        .delta_link(policy.id, "adele")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        (kept.delta_link.as_str(), kept.run_id),
        ("https://graph/delta?token=1", run1.id)
    );

    // Run 3 resumes from run 1's link, sees m3 again plus m4: no duplicate.
    let t3 = T0 + Duration::hours(2);
    let run3 = store
        .start_run(policy.id, RunTrigger::Manual, t3)
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for m in ["m3", "m4"] {
        outcomes.push(
            store
                .upsert_mailbox_item(&item(org.id, "adele", m, m.as_bytes()), run3.id)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes,
        vec![UpsertOutcome::Unchanged, UpsertOutcome::Inserted]
    );
    store
        .save_delta_link(
            policy.id,
            "adele",
            "https://graph/delta?token=3",
            run3.id,
            t3,
        )
        .await
        .unwrap();
    let ids: Vec<_> = store
        .mailbox_items(org.id, "adele")
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.message_id)
        .collect();
    assert_eq!(ids.len(), 4);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, vec!["m1", "m2", "m3", "m4"]);
    let resumed = store
        .delta_link(policy.id, "adele")
        .await
        .unwrap()
        .expect("updated");
    assert_eq!(
        (
            resumed.delta_link.as_str(),
            resumed.run_id,
            resumed.updated_at
        ),
        ("https://graph/delta?token=3", run3.id, t3)
    );
}

async fn one_running_backup_per_policy_and_due_policies(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let due = policy(store, org.id, Some(T0)).await;
    let later = policy(store, org.id, Some(T0 + Duration::hours(1))).await;
    let mut disabled = policy(store, org.id, Some(T0)).await;
    disabled.enabled = false;
    store.update_policy(&disabled, T0).await.unwrap();

    let due_now: Vec<_> = store
        .due_policies(T0, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(due_now, vec![due.id]);
    assert_eq!(
        store
            .due_policies(T0 + Duration::hours(1), usize::MAX)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.policy(due.id).await.unwrap().scope,
        BackupScope::Users(vec!["adele@contoso.example".into()])
    );

    let run = store
        .start_run(due.id, RunTrigger::Scheduled, T0)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Running);
    let second = store
        .start_run(due.id, RunTrigger::Manual, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(second, StoreError::Conflict(Conflict::RunInProgress { .. })),
        "{second:?}"
    );
    store
        .start_run(later.id, RunTrigger::Manual, T0)
        .await
        .expect("other policies are independent");

    let summary = RunSummary {
        status: RunStatus::Warning,
        users: 3,
        items_new: 10,
        items_changed: 2,
        error_text: None,
    };
    let finished = store
        .finish_run(run.id, &summary, T0 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        (finished.status, finished.items_new, finished.finished_at),
        (RunStatus::Warning, 10, Some(T0 + Duration::minutes(5)))
    );
    let again = store.finish_run(run.id, &summary, T0).await.unwrap_err();
    assert!(
        matches!(again, StoreError::Conflict(Conflict::RunFinished { .. })),
        "{again:?}"
    );
    store
        .start_run(due.id, RunTrigger::Manual, T0 + Duration::minutes(6))
        .await
        .expect("free again");

    // After a crash, runs left running are failed so the policy can run again.
    assert_eq!(
        store
            .fail_interrupted_runs(
                None,
                T0,
                "the service stopped during this run",
                T0 + Duration::hours(2)
            )
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .runs(due.id, 10)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.status == RunStatus::Running)
            .count(),
        0
    );

    store.set_policy_next_due(due.id, None, T0).await.unwrap();
    assert!(
        store
            .due_policies(T0 + Duration::days(1), usize::MAX)
            .await
            .unwrap()
            .iter()
            .all(|p| p.id != due.id)
    );
    store.delete_policy(due.id).await.unwrap();
    assert!(matches!(
        store.policy(due.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

fn ids(policies: &[BackupPolicy]) -> Vec<PolicyId> {
    policies.iter().map(|p| p.id).collect()
}

/// The scheduler reads only as many due policies as it can start, so which come first decides
/// who waits: the longest waiting (oldest due time), ties by id — the same on both backends,
/// and whatever order the rows were inserted in.
async fn due_policies_come_oldest_first_then_by_id_up_to_the_limit(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let newest = policy(store, org.id, Some(T0)).await;
    let mut tied = Vec::new();
    for _ in 0..4 {
        tied.push(policy(store, org.id, Some(T0 - Duration::hours(1))).await);
    }
    policy(store, org.id, Some(T0 + Duration::seconds(1))).await; // not due yet
    policy(store, org.id, None).await; // no schedule
    let mut disabled = policy(store, org.id, Some(T0 - Duration::days(10))).await;
    disabled.enabled = false;
    store.update_policy(&disabled, T0).await.unwrap();
    // Inserted last, due first.
    let oldest = policy(store, org.id, Some(T0 - Duration::days(3))).await;

    // Ties in the text order of the ids, as the SQL compares them.
    tied.sort_by_key(|p| p.id.to_string());
    let mut expected = vec![oldest.id];
    expected.extend(tied.iter().map(|p| p.id));
    expected.push(newest.id);

    assert_eq!(
        ids(&store.due_policies(T0, usize::MAX).await.unwrap()),
        expected
    );
    for limit in 0..=expected.len() + 1 {
        assert_eq!(
            ids(&store.due_policies(T0, limit).await.unwrap()),
            expected[..limit.min(expected.len())],
            "the first {limit} due policies"
        );
    }
    assert_eq!(
        ids(&store
            .due_policies(T0 - Duration::minutes(30), 2)
            .await
            .unwrap()),
        expected[..2],
        "a limit counts due policies only"
    );

    // Dispatching the oldest (its due time moves on) lets the next-oldest come first; a policy
    // whose due time was left alone keeps its place ahead of newer ones.
    store
        .set_policy_next_due(oldest.id, Some(T0 + Duration::days(1)), T0)
        .await
        .unwrap();
    store
        .set_policy_next_due(tied[0].id, Some(T0 - Duration::minutes(1)), T0)
        .await
        .unwrap();
    assert_eq!(
        ids(&store.due_policies(T0, 4).await.unwrap()),
        vec![tied[1].id, tied[2].id, tied[3].id, tied[0].id]
    );
}

async fn due_policies_among_reads_only_the_ids_asked(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let old = policy(store, org.id, Some(T0 - Duration::days(1))).await;
    let due = policy(store, org.id, Some(T0)).await;
    let not_asked = policy(store, org.id, Some(T0 - Duration::days(2))).await;
    let later = policy(store, org.id, Some(T0 + Duration::hours(1))).await;
    let mut disabled = policy(store, org.id, Some(T0)).await;
    disabled.enabled = false;
    store.update_policy(&disabled, T0).await.unwrap();

    assert!(store.due_policies_among(T0, &[]).await.unwrap().is_empty());
    assert_eq!(
        ids(&store
            .due_policies_among(T0, &[due.id, later.id, disabled.id, old.id])
            .await
            .unwrap()),
        vec![old.id, due.id],
        "due and enabled only, oldest first; not the older policy that was not asked for"
    );
    assert_eq!(
        ids(&store.due_policies(T0, 1).await.unwrap()),
        vec![not_asked.id]
    );

    // More ids than one statement takes: unknown ids are no error, and the due one is found.
    let mut many: Vec<_> = (0..1_200).map(|_| PolicyId::new()).collect();
    many.insert(777, due.id);
    assert_eq!(
        ids(&store.due_policies_among(T0, &many).await.unwrap()),
        vec![due.id]
    );
}

/// A stored value the service's types cannot read is a storage error naming its column, through
/// the store and through the port, never a default: here a scope and a delta link's run id
/// edited outside tenantlink (the enums have CHECK constraints, these columns do not).
async fn backup_values_that_do_not_parse_are_corrupt_not_defaulted(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let policy = policy(store, org.id, None).await;
    let run = store
        .start_run(policy.id, RunTrigger::Manual, T0)
        .await
        .unwrap();
    store
        .save_delta_link(policy.id, "adele", "https://graph/delta", run.id, T0)
        .await
        .unwrap();

    db.raw_execute(
        "UPDATE backup_policies SET scope = $1 WHERE id = $2",
        &[
            RawParam::Text("{\"kind\":\"some_users\"}".into()),
            RawParam::Text(policy.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.policy(policy.id).await,
        Err(StoreError::Corrupt {
            table: "backup_policies",
            column: "scope",
            ..
        })
    ));
    match BackupRepository::policy(store, policy.id).await {
        Err(RepositoryError::Storage { detail, .. }) => {
            assert!(detail.contains("scope"), "{detail}")
        }
        other => panic!("a corrupt scope is a storage error, not {other:?}"),
    }

    db.raw_execute(
        "UPDATE delta_links SET run_id = $1 WHERE policy_id = $2",
        &[
            RawParam::Text("not-a-uuid".into()),
            RawParam::Text(policy.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.delta_link(policy.id, "adele").await,
        Err(StoreError::Corrupt {
            table: "delta_links",
            column: "run_id",
            ..
        })
    ));
}
