//! Notices against the memory repository, the recording sender and a manual clock: the watcher
//! and dispatcher passes, the hooks in the workflows, and the administrator's API.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod delivery;
mod hooks;
mod test_event_race;
mod watching;

use std::sync::Arc;
use support::{START, World, admin};
use tenantlink_clock::{ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{self, FakeDirectory, MemoryRepository, RecordingSender};
use tenantlink_service::notices::{
    EventType, NewWebhook, NoticeSettings, Notices, NoticesConfig, WebhookEndpoint,
};
use tenantlink_service::renewal::RenewalPolicyChange;
use tenantlink_service::{SecretString, Workflows, WorkflowsConfig};
use time::OffsetDateTime;

pub(crate) const PUBLIC_URL: &str = "https://tl.example";

pub(crate) struct NoticeWorld {
    pub world: World,
    pub sender: RecordingSender,
    pub notices: Notices,
}

pub(crate) async fn notice_world() -> NoticeWorld {
    let clock = Arc::new(ManualClock::at(START));
    let repository = MemoryRepository::new();
    let directory = FakeDirectory::new(clock.clone());
    let sender = RecordingSender::new();
    let notices = notices_over(&repository, &sender, &clock);
    let workflows = Workflows::new(
        Arc::new(repository.clone()),
        Arc::new(directory.clone()),
        clock.clone(),
        Arc::new(RecordingSleeper::advancing(clock.clone())),
        WorkflowsConfig::default(),
    )
    .with_notices(notices.recorder());
    let org = workflows
        .add_organization(&admin("setup"), fakes::new_organization())
        .await
        .expect("organization")
        .id;
    NoticeWorld {
        world: World {
            clock,
            repository,
            directory,
            workflows,
            org,
        },
        sender,
        notices,
    }
}

/// A `Notices` as a (re)started process builds it over `repository`.
pub(crate) fn notices_over(
    repository: &MemoryRepository,
    sender: &RecordingSender,
    clock: &Arc<ManualClock>,
) -> Notices {
    Notices::new(
        Arc::new(repository.clone()),
        Arc::new(sender.clone()),
        clock.clone(),
        NoticesConfig {
            public_url: Some(PUBLIC_URL.into()),
            instance: Some("instance-a".into()),
            ..NoticesConfig::default()
        },
    )
    .with_sleeper(Arc::new(RecordingSleeper::advancing(clock.clone())))
}

impl NoticeWorld {
    pub fn now(&self) -> OffsetDateTime {
        self.world.now()
    }

    pub fn set_time(&self, at: OffsetDateTime) {
        self.world.clock.set(at);
    }

    pub fn advance(&self, by: time::Duration) {
        self.world.clock.advance(by);
    }

    /// A webhook endpoint at `url` for `types`, with its secret.
    pub async fn webhook(&self, url: &str, types: &[EventType]) -> (WebhookEndpoint, SecretString) {
        let created = self
            .notices
            .create_webhook(
                &admin("alice"),
                &NewWebhook {
                    url: url.into(),
                    description: "on-call".into(),
                    event_types: Some(types.to_vec()),
                },
            )
            .await
            .expect("create webhook");
        (created.endpoint, created.secret)
    }

    /// E-mail of `types` to `recipients`, one message per notice unless `digest`.
    pub async fn email(&self, recipients: &[&str], types: &[EventType], digest_hour: Option<u8>) {
        let settings = NoticeSettings {
            expiry_thresholds_days: vec![30, 14, 7, 1],
            default_recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
            email_mode: match digest_hour {
                Some(_) => tenantlink_service::notices::EmailMode::DailyDigest,
                None => tenantlink_service::notices::EmailMode::Immediate,
            },
            digest_hour_utc: digest_hour.unwrap_or(8),
            email_event_types: types.to_vec(),
        };
        self.notices
            .set_notice_settings(&admin("alice"), &settings)
            .await
            .expect("settings");
    }

    /// Automatic renewal off, so the certificate stays until its end.
    pub async fn renewal_off(&self) {
        self.world
            .workflows
            .set_renewal_policy(
                &admin("alice"),
                self.world.org,
                &RenewalPolicyChange {
                    automatic: Some(false),
                    ..RenewalPolicyChange::default()
                },
            )
            .await
            .expect("renewal off");
    }

    /// One watcher pass, then one dispatcher pass.
    pub async fn pass(&self) {
        self.notices.watch_once().await;
        self.notices.dispatch_once().await;
    }

    /// The event types of the notices recorded, oldest first.
    pub async fn recorded(&self) -> Vec<EventType> {
        let mut notices = self
            .notices
            .notices(&admin("alice"), None, 500)
            .await
            .expect("notices");
        notices.reverse();
        notices.into_iter().map(|n| n.event_type).collect()
    }

    /// The parsed JSON bodies `url` accepted, in order.
    pub fn bodies(&self, url: &str) -> Vec<serde_json::Value> {
        self.sender
            .accepted_by(url)
            .iter()
            .map(|sent| serde_json::from_str(&sent.message.body).expect("JSON body"))
            .collect()
    }
}

impl World {
    /// Every audit entry's detail, joined (to look for what must never be there).
    pub async fn repository_audit_text(&self) -> String {
        use tenantlink_service::Repository as _;
        self.repository
            .audit(1000)
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{} {:?}", e.action, e.detail))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
