//! Issue #12, crash tests: `tenantlink serve` killed (SIGKILL) at each step of a rotation — after
//! addKey, after the application was read back (the verify), after activation, and before the
//! retired key's removeKey. The sandbox holds (or refuses) the request that comes next, so the
//! process is certainly at that step when it dies; the restarted process's sandbox starts
//! without faults. After the restart the organization signs in with the active certificate, the
//! rotation has completed or rolled forward (never back), the active certificate's key is on the
//! application and the retired one stays there until its overlap ends, and then it is removed
//! exactly once. SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use serde_json::{Value, json};
use serve_support::rotation::{
    OVERLAP_GRACE, SandboxView, assert_signs_in, audited, certificate, count_requests, eventually,
    finished_operation, key_thumbprints, start_rotation, thumbprints_of,
};
use serve_support::rotation_setup::{Rotating, admin_of, rotating};
use serve_support::scenario::Baseline;
use serve_support::{Backend, Server, Session};
use std::time::Duration;

on_both_backends!(
    killed_after_add_key_the_rotation_rolls_forward,
    killed_after_the_verify_the_rotation_rolls_forward,
    killed_after_activation_the_new_key_stays_and_the_old_one_goes_once,
    killed_before_remove_key_the_old_key_is_removed_once_after_the_restart,
);

/// Graph's read of the application (the verify after addKey), held for longer than any test.
fn hold_application_reads() -> Value {
    json!({"route": "/v1.0/applications*", "method": "GET", "kind": "latency", "latency_ms": 600_000, "count": 1})
}

async fn killed_after_add_key_the_rotation_rolls_forward(backend: Backend) {
    let Some(Rotating {
        deployment: _deployment,
        server,
        admin,
        baseline:
            Baseline {
                organization: org,
                thumbprint: old,
                ..
            },
    }) = rotating(backend).await
    else {
        return;
    };
    // The next request after addKey is the read-back of the application: it never answers.
    SandboxView::of(&server)
        .fault(hold_application_reads())
        .await;
    let operation = start_rotation(&admin, &org).await;
    let at_step = admin
        .wait_for(&operation, |o| o["step"] != "certificate_stored")
        .await;
    assert_eq!(at_step["step"], "key_added", "{at_step}");
    let new = at_step["sha1_thumbprint"].as_str().expect("new").to_owned();
    let on_app = key_thumbprints(&SandboxView::of(&server).backup_application().await);
    assert!(on_app.contains(&new) && on_app.contains(&old), "{on_app:?}");

    let server = server.restart();
    rolled_forward(&server, &org, &operation, &old, &new).await;
    old_key_removed_once(&server, &org, &old, &new).await;
}

async fn killed_after_the_verify_the_rotation_rolls_forward(backend: Backend) {
    let Some(Rotating {
        deployment: _deployment,
        server,
        admin: _,
        baseline:
            Baseline {
                organization: org,
                thumbprint: old,
                ..
            },
    }) = rotating(backend).await
    else {
        return;
    };
    // After the verify the new key must prove itself at the token endpoint; it stays unknown
    // there for ten minutes, so the service is still retrying that proof (step `attached`).
    let sandbox = SandboxView::of(&server);
    sandbox
        .post("/settings", json!({"key_propagation_delay_seconds": 600}))
        .await;
    // The delay counts from each key's attach time: ten minutes on, the active key (attached by
    // Generate a moment ago) is usable again, and only the rotation's new key is not.
    sandbox.advance(time::Duration::seconds(601)).await;
    let admin = admin_of(&server).await;
    let operation = start_rotation(&admin, &org).await;
    let at_step = admin
        .wait_for(&operation, |o| {
            !matches!(o["step"].as_str(), Some("certificate_stored" | "key_added"))
        })
        .await;
    assert_eq!(at_step["step"], "attached", "{at_step}");
    let new = at_step["sha1_thumbprint"].as_str().expect("new").to_owned();

    let server = server.restart();
    // The restarted sandbox's clock starts at the system time again: back to where the key
    // was attached, so that it is not attached "in the future".
    SandboxView::of(&server)
        .advance(time::Duration::seconds(601))
        .await;
    rolled_forward(&server, &org, &operation, &old, &new).await;
    old_key_removed_once(&server, &org, &old, &new).await;
}

async fn killed_after_activation_the_new_key_stays_and_the_old_one_goes_once(backend: Backend) {
    let Some(Rotating {
        deployment: _deployment,
        server,
        admin,
        baseline:
            Baseline {
                organization: org,
                thumbprint: old,
                ..
            },
    }) = rotating(backend).await
    else {
        return;
    };
    let operation = start_rotation(&admin, &org).await;
    let done = finished_operation(&admin, &operation).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let new = done["sha1_thumbprint"].as_str().expect("new").to_owned();

    // Killed at once: the retired key is still on the application, its overlap just begun.
    let server = server.restart();
    rolled_forward(&server, &org, &operation, &old, &new).await;
    old_key_removed_once(&server, &org, &old, &new).await;
}

async fn killed_before_remove_key_the_old_key_is_removed_once_after_the_restart(backend: Backend) {
    let Some(Rotating {
        deployment: _deployment,
        server,
        admin,
        baseline:
            Baseline {
                organization: org,
                thumbprint: old,
                ..
            },
    }) = rotating(backend).await
    else {
        return;
    };
    let operation = start_rotation(&admin, &org).await;
    let done = finished_operation(&admin, &operation).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let new = done["sha1_thumbprint"].as_str().expect("new").to_owned();
    assert_signs_in(&admin, &org).await;

    // Every removeKey is refused with a 503 until the process dies; the sweep is due.
    let sandbox = SandboxView::of(&server);
    sandbox
        .fault(json!({"route": "/v1.0/applications/*/removeKey", "method": "POST", "kind": "status", "status": 503}))
        .await;
    sandbox
        .advance(OVERLAP_GRACE + time::Duration::hours(1))
        .await;
    eventually("a refused removeKey", Duration::from_secs(60), || async {
        let requests = sandbox.requests().await;
        let refused = requests
            .iter()
            .filter(|r| {
                r["method"] == "POST"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("/removeKey"))
                    && r["status"] == 503
            })
            .count();
        if refused > 0 {
            Ok(())
        } else {
            Err(format!("{requests:?}"))
        }
    })
    .await;
    let on_app = key_thumbprints(&sandbox.backup_application().await);
    assert!(
        on_app.contains(&old),
        "a refused removeKey removed nothing: {on_app:?}"
    );
    let admin = admin_of(&server).await;
    assert!(audited(&admin, "key_removed").await.is_empty());

    let server = server.restart();
    rolled_forward(&server, &org, &operation, &old, &new).await;
    old_key_removed_once(&server, &org, &old, &new).await;
}

/// After the restart: the rotation succeeded with the new certificate, which is active, on the
/// application and signs in; the retired key is still on the application (its overlap has not
/// ended on the restarted process's clock).
async fn rolled_forward(server: &Server, org: &str, operation: &str, old: &str, new: &str) {
    let admin = admin_of(server).await;
    let done = finished_operation(&admin, operation).await;
    assert_eq!(
        done["step"], "succeeded",
        "rolled forward, not back: {done}"
    );
    assert_eq!(done["sha1_thumbprint"], new, "{done}");
    let page = certificate(&admin, org).await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["active"]["sha1_thumbprint"], new, "{page}");
    let on_app = key_thumbprints(&SandboxView::of(server).backup_application().await);
    assert!(
        on_app.contains(&new.to_owned()),
        "the active key is on the application: {on_app:?}"
    );
    assert!(
        on_app.contains(&old.to_owned()),
        "the retired key stays during its overlap: {on_app:?}"
    );
    assert_signs_in(&admin, org).await;
    let rotated = audited(&admin, "certificate_rotated").await;
    assert_eq!(rotated.len(), 1, "one rotation: {rotated:?}");
    // The entry names both thumbprints (in the service's order).
    let mut named = thumbprints_of(&rotated[0]);
    named.sort();
    let mut expected = vec![old.to_owned(), new.to_owned()];
    expected.sort();
    assert_eq!(named, expected, "{rotated:?}");
}

/// Past the overlap, the retired key goes exactly once; the active one stays.
async fn old_key_removed_once(server: &Server, org: &str, old: &str, new: &str) {
    let sandbox = SandboxView::of(server);
    sandbox.clear_requests().await;
    sandbox
        .advance(OVERLAP_GRACE + time::Duration::hours(1))
        .await;
    let admin: Session = admin_of(server).await;
    let removed = eventually(
        "the retired key's removal",
        Duration::from_secs(60),
        || async {
            let removed = audited(&admin, "key_removed").await;
            if removed.is_empty() {
                Err("no key_removed yet".to_owned())
            } else {
                Ok(removed)
            }
        },
    )
    .await;
    let application = sandbox.backup_application().await;
    let on_app = key_thumbprints(&application);
    assert!(!on_app.contains(&old.to_owned()), "{application}");
    assert!(on_app.contains(&new.to_owned()), "{application}");
    assert_eq!(removed.len(), 1, "removed once: {removed:?}");
    assert_eq!(thumbprints_of(&removed[0]), [old], "{removed:?}");
    // The next sweeps find nothing more to do: one removeKey reached Graph.
    let requests = sandbox.requests().await;
    let succeeded = requests
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/removeKey"))
                && r["status"].as_u64().is_some_and(|s| s < 300)
        })
        .count();
    assert_eq!(succeeded, 1, "{requests:?}");
    assert_eq!(
        count_requests(&requests, "POST", "/addKey"),
        0,
        "{requests:?}"
    );
    assert_signs_in(&admin, org).await;
}
