//! Rough throughput of the operations a scheduled round at fleet scale leans on.
//!
//! Usage: cargo run -p tenantlink-store --example store_throughput -- <database URL> [organizations]
//! (an empty SQLite file, or an empty PostgreSQL database).

use std::time::Instant;

use tenantlink_service::{BackupScope, MailboxItem, NewBackupPolicy, NewOrganization, RunTrigger};
use tenantlink_store::Store;
use time::{Duration, OffsetDateTime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: store_throughput <database URL> [organizations]")?;
    let organizations: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    // A fixed instant: this measures the store, not the clock.
    let t0 = OffsetDateTime::from_unix_timestamp(1_795_000_000)?;
    let store = Store::open(&url).await?;

    let started = Instant::now();
    let mut policies = Vec::with_capacity(organizations);
    for i in 0..organizations {
        let org = store
            .create_organization(
                NewOrganization {
                    tenant: format!("tenant{i}.example"),
                    cloud: tenantlink_service::Cloud::Sandbox,
                    app_id: "app".into(),
                    name: format!("Org {i}"),
                },
                t0,
            )
            .await?;
        let policy = store
            .create_policy(
                NewBackupPolicy {
                    organization_id: org.id,
                    name: "mail".into(),
                    schedule: "0 2 * * *".into(),
                    scope: BackupScope::AllUsers,
                    enabled: true,
                    next_due_at: Some(t0),
                },
                t0,
            )
            .await?;
        policies.push((org.id, policy.id));
    }
    report("create organization + policy", organizations, started);

    // Every policy is due at t0 (ties on the due time, as when a fleet is created at once).
    // "all" is what each scheduler tick read before it asked only for its free slots.
    for (what, limit) in [("all", usize::MAX), ("limit 32", 32), ("limit 1", 1)] {
        let (due, per_call) = timed(REPEAT, || store.due_policies(t0, limit)).await?;
        println!(
            "due_policies ({what}) over {organizations} due policies: {} rows, {per_call:.2} ms",
            due.len()
        );
    }
    let running: Vec<_> = policies.iter().take(32).map(|(_, p)| *p).collect();
    let (due, per_call) = timed(REPEAT, || store.due_policies_among(t0, &running)).await?;
    println!(
        "due_policies_among (32 running) over {organizations} due policies: {} rows, {per_call:.2} ms",
        due.len()
    );

    let started = Instant::now();
    let mut runs = Vec::with_capacity(organizations);
    for (_, policy) in &policies {
        runs.push(store.start_run(*policy, RunTrigger::Scheduled, t0).await?);
    }
    report("start_run", organizations, started);

    let items = organizations.min(2_000) * 5;
    let started = Instant::now();
    for n in 0..items {
        let (org, _) = policies[n % policies.len()];
        let item = MailboxItem {
            organization_id: org,
            user_id: "adele".into(),
            message_id: format!("message-{n}"),
            subject: "Quarterly numbers".into(),
            sender: "ceo@contoso.example".into(),
            received_at: t0 - Duration::days(1),
            size: 4096,
            content_hash: vec![7; 32],
        };
        store
            .upsert_mailbox_item(&item, runs[n % runs.len()].id)
            .await?;
    }
    report("upsert_mailbox_item (new, one commit each)", items, started);

    let started = Instant::now();
    let page: Vec<MailboxItem> = (0..items)
        .map(|n| MailboxItem {
            organization_id: policies[0].0,
            user_id: "megan".into(),
            message_id: format!("message-{n}"),
            subject: "Quarterly numbers".into(),
            sender: "ceo@contoso.example".into(),
            received_at: t0 - Duration::days(1),
            size: 4096,
            content_hash: vec![7; 32],
        })
        .collect();
    for chunk in page.chunks(50) {
        store.upsert_mailbox_items(chunk, runs[0].id).await?;
    }
    report("upsert_mailbox_items (new, pages of 50)", items, started);

    store.close().await;
    Ok(())
}

/// Calls per read measurement: one call is too short to time on its own.
const REPEAT: u32 = 20;

/// Calls `read` `times` times; returns the last answer and the mean milliseconds per call.
async fn timed<T, F, Fut>(times: u32, mut read: F) -> Result<(T, f64), tenantlink_store::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tenantlink_store::StoreError>>,
{
    let started = Instant::now();
    let mut last = read().await?;
    for _ in 1..times {
        last = read().await?;
    }
    Ok((
        last,
        started.elapsed().as_secs_f64() * 1e3 / f64::from(times),
    ))
}

fn report(what: &str, count: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{what}: {count} in {:.2} s = {:.0}/s",
        seconds,
        count as f64 / seconds
    );
}
