//! Issue #12, "How it is proven", first point, end to end on the embedded defaults (and on
//! PostgreSQL): a generated certificate living 30 days with renewal at two thirds and no jitter,
//! a daily backup policy, and the shared clock of the service and its sandbox moved forward four
//! days at a time across more than three lifetimes. After each step the renewal scheduler (a
//! look every five seconds) and the backup scheduler act on their own: every backup run
//! succeeds, the sandbox never refuses a key with AADSTS700027, the certificate is rotated whenever renewal is
//! due (at least three times), the application never holds more than two of tenantlink's keys,
//! each retired key is taken off the application only after its overlap (the grace of 72 hours
//! after the rotation, or the old key's own end), and the audit log names every rotation with
//! its old and new SHA-1 thumbprints and every removal with the removed one.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::rotation::{
    LIFETIME_DAYS, OVERLAP_GRACE, SandboxView, assert_no_expired_key, audited, certificate,
    key_thumbprints, thumbprints_of, time_of,
};
use serve_support::rotation_setup::{Rotating, admin_of, rotating};
use serve_support::scenario::finished_run;
use serve_support::{Backend, Session};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

on_both_backends!(a_certificate_renews_itself_across_three_lifetimes_while_backups_keep_running);

/// One clock step: smaller than the overlap grace plus a renewal period, so that a retired
/// key's removal and the next rotation never fall into the same step.
const STEP: time::Duration = time::Duration::days(4);

/// A rotation: the thumbprint it retired, the one it activated, and when.
#[derive(Debug, Clone)]
struct Rotated {
    old: String,
    new: String,
    at: OffsetDateTime,
}

/// The rotations the audit log names, oldest first; `first` is the thumbprint active before
/// them. Each entry names the old and the new thumbprint; which is which follows from the chain.
fn rotations_in(entries: &[Value], first: &str) -> Vec<Rotated> {
    let mut active = first.to_owned();
    entries
        .iter()
        .map(|e| {
            let thumbprints = thumbprints_of(e);
            assert_eq!(
                thumbprints.len(),
                2,
                "certificate_rotated names the old and the new thumbprint: {e}"
            );
            assert!(
                thumbprints.contains(&active),
                "each rotation retires the key the one before activated ({active}): {e}"
            );
            let new = thumbprints
                .iter()
                .find(|t| **t != active)
                .expect("a new thumbprint")
                .clone();
            Rotated {
                old: std::mem::replace(&mut active, new.clone()),
                new,
                at: time_of(&e["at"]),
            }
        })
        .collect()
}

async fn a_certificate_renews_itself_across_three_lifetimes_while_backups_keep_running(
    backend: Backend,
) {
    let Some(Rotating {
        deployment: _deployment,
        server,
        admin,
        baseline: first,
    }) = rotating(backend).await
    else {
        return;
    };
    let sandbox = SandboxView::of(&server);
    let org = first.organization.clone();
    let page = certificate(&admin, &org).await;
    let lifetime = time_of(&page["active"]["valid_to"]) - time_of(&page["active"]["valid_from"]);
    assert_eq!(lifetime, time::Duration::days(LIFETIME_DAYS), "{page}");

    // Daily at 03:00: every clock step makes it overdue, so the backup scheduler runs it once.
    let (status, policy) = admin
        .post(
            &format!("/api/v1/organizations/{org}/policies"),
            json!({"name": "Mail", "schedule": "0 3 * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let policy = policy["id"].as_str().expect("policy id").to_owned();

    let start = sandbox.now().await;
    // Three lifetimes and one step more.
    let steps = (3 * LIFETIME_DAYS) / STEP.whole_days() + 1;
    let mut known: BTreeSet<String> = BTreeSet::from([first.thumbprint.clone()]);
    let mut most_keys = 0;
    let mut runs_seen = 0;
    for step in 1..=steps {
        let now = sandbox.advance(STEP).await;
        // Sessions last eight hours of the same clock.
        let admin = admin_of(&server).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        let settled = loop {
            let observed = observe(
                &sandbox,
                &admin,
                (&org, &policy),
                now,
                runs_seen,
                &mut known,
                &first.thumbprint,
            )
            .await;
            if let Some(ours) = observed.ours {
                most_keys = most_keys.max(ours);
            }
            match observed.settled {
                Ok(settled) => break settled,
                Err(last) => assert!(
                    Instant::now() < deadline,
                    "step {step} (day {}) never settled; last seen: {last}",
                    (now - start).whole_days()
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let (page, application, newest, runs) = settled;
        runs_seen = runs;
        let run = finished_run(&admin, newest["id"].as_str().expect("run id")).await;
        assert_eq!(
            run["run"]["status"], "success",
            "step {step}: the backup run must succeed: {run}"
        );
        assert!(
            time_of(&run["run"]["started_at"]) >= now,
            "the run started after the step: {run}"
        );
        let active = page["active"]["sha1_thumbprint"]
            .as_str()
            .expect("active")
            .to_ascii_uppercase();
        assert_eq!(page["state"], "valid", "step {step}: {page}");
        assert!(
            key_thumbprints(&application).contains(&active),
            "step {step}: the active certificate's key is on the application: {application}"
        );
        let requests = sandbox.requests().await;
        assert_no_expired_key(&requests);
        sandbox.clear_requests().await;
        assert!(
            most_keys <= 2,
            "step {step}: the application held {most_keys} of tenantlink's keys: {application}"
        );
    }

    // The audit log: a chain of rotations from the first certificate, each removal once.
    let rotated = rotations_in(
        &audited(&admin_of(&server).await, "certificate_rotated").await,
        &first.thumbprint,
    );
    assert!(
        rotated.len() >= 3,
        "at least three rotations across three lifetimes: {rotated:?}"
    );
    let mut previous = first.thumbprint.clone();
    for rotation in &rotated {
        assert_eq!(
            rotation.old, previous,
            "each rotation retires the key the one before activated: {rotated:?}"
        );
        assert_ne!(rotation.new, rotation.old, "{rotated:?}");
        previous = rotation.new.clone();
    }
    let admin = admin_of(&server).await;
    assert_eq!(active_thumbprint(&admin, &org).await, previous);
    let removals = audited(&admin, "key_removed").await;
    let application = sandbox.backup_application().await;
    let on_app = key_thumbprints(&application);
    for rotation in &rotated {
        let of_this: Vec<&Value> = removals
            .iter()
            .filter(|e| thumbprints_of(e).contains(&rotation.old))
            .collect();
        // The last rotation's overlap may still be running at the end.
        if rotation.at + OVERLAP_GRACE > sandbox.now().await {
            assert!(
                of_this.is_empty(),
                "removed before its overlap: {of_this:?}"
            );
            continue;
        }
        assert_eq!(
            of_this.len(),
            1,
            "each retired key removed once: {removals:?}"
        );
        let removed_at = time_of(&of_this[0]["at"]);
        // The old key still had most of its third lifetime left, so its overlap was the grace.
        assert!(
            removed_at >= rotation.at + OVERLAP_GRACE,
            "{} removed at {removed_at}, before its overlap after the rotation at {}",
            rotation.old,
            rotation.at
        );
        assert!(
            !on_app.contains(&rotation.old),
            "a removed key is off the application: {application}"
        );
    }
    // Only tenantlink's own retired keys were ever removed.
    for removal in &removals {
        for thumbprint in thumbprints_of(removal) {
            assert!(
                rotated.iter().any(|r| r.old == thumbprint),
                "key_removed names a key no rotation retired: {removal}"
            );
        }
    }
}

async fn active_thumbprint(admin: &Session, org: &str) -> String {
    serve_support::rotation::active_thumbprint(admin, org)
        .await
        .to_ascii_uppercase()
}

/// One look at everything a step must lead to.
struct Observed {
    /// How many of tenantlink's keys the application holds.
    ours: Option<usize>,
    /// The certificate page, the application and the newest run with the number of runs, once
    /// renewal, key removal and the backup have all acted on the step.
    settled: Result<(Value, Value, Value, usize), String>,
}

async fn observe(
    sandbox: &SandboxView<'_>,
    admin: &Session,
    (org, policy): (&str, &str),
    now: OffsetDateTime,
    runs_seen: usize,
    known: &mut BTreeSet<String>,
    first: &str,
) -> Observed {
    // The page, then the application, then the page again: a rotation that ends between two
    // reads would pair an application read before its addKey with a page read after its
    // activation, and the active key would seem missing from the application.
    let page = certificate(admin, org).await;
    let application = sandbox.backup_application().await;
    let unchanged = certificate(admin, org).await["active"] == page["active"];
    for listed in page["active"]
        .as_object()
        .into_iter()
        .map(|_| &page["active"])
        .chain(page["previous"].as_array().into_iter().flatten())
    {
        if let Some(t) = listed["sha1_thumbprint"].as_str() {
            known.insert(t.to_ascii_uppercase());
        }
    }
    let ours = key_thumbprints(&application)
        .into_iter()
        .filter(|t| known.contains(t))
        .count();
    let state = format!("page {page}; {ours} of our keys on {application}");
    let settled = async {
        if !unchanged {
            return Err(format!("a rotation ended while observed: {state}"));
        }
        // Renewal has acted when it was due: the plan lies in the future again.
        let next = &page["renewal"]["next_renewal_at"];
        if next.is_null() || time_of(next) <= now {
            return Err(format!("renewal still due: {state}"));
        }
        let rotated = rotations_in(&audited(admin, "certificate_rotated").await, first);
        let removed: BTreeSet<String> = audited(admin, "key_removed")
            .await
            .iter()
            .flat_map(thumbprints_of)
            .collect();
        // Every retired key whose overlap has ended is gone.
        for rotation in &rotated {
            if rotation.at + OVERLAP_GRACE <= now && !removed.contains(&rotation.old) {
                return Err(format!("{} not removed yet: {state}", rotation.old));
            }
        }
        // The policy ran after the step, and that run has ended.
        let (_, runs) = admin.get(&format!("/api/v1/policies/{policy}/runs")).await;
        let runs = runs.as_array().cloned().unwrap_or_default();
        let newest = runs.first().cloned().unwrap_or(Value::Null);
        if runs.len() <= runs_seen || newest["status"] == "running" {
            return Err(format!("no finished run after the step: {runs:?}"));
        }
        Ok((page.clone(), application.clone(), newest, runs.len()))
    }
    .await;
    Observed {
        ours: Some(ours),
        settled,
    }
}
