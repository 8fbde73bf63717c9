//! The dispatcher pass: the due deliveries, each claimed (so of several instances one sends
//! it), rendered, sent through the [`NoticeSender`](super::NoticeSender), and its attempt
//! recorded with what follows ([`super::backoff`]): delivered, another attempt later, or given
//! up — a give-up counts toward marking the endpoint failing ([`super::FAILING_AFTER`]).
//!
//! In daily-digest mode, the e-mail deliveries due together (the repository makes them due at
//! the digest hour) with the same recipients leave as one message listing every notice.
//!
//! Sends are one after another: an endpoint that hangs costs the sender's timeout per attempt,
//! and the claim lasts [`CLAIM_FOR`], far longer than a pass's sends.

use super::FAILING_AFTER;
use super::backoff;
use super::event::{EventType, Notice};
use super::ports::{
    AttemptNext, AttemptRecord, Delivery, DeliveryChannel, DeliveryStatus, EmailMessage, EmailMode,
    SendError, WebhookMessage,
};
use super::render;
use super::service::Notices;
use crate::observe::DeliveryOutcome;
use crate::ports::RepositoryError;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// How long a claim on a delivery lasts: longer than any send (the senders time out within a
/// minute), short enough that a crashed instance's claims are taken over soon.
pub const CLAIM_FOR: Duration = Duration::minutes(5);
/// Deliveries read per batch; a pass reads batches until one is not full (at most
/// [`MAX_BATCHES`]), so a digest of up to this many notices leaves as one message.
pub const BATCH: u32 = 500;
const MAX_BATCHES: usize = 20;

/// What one dispatcher pass did. Counts are of deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub due: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub given_up: usize,
    /// Another instance claimed it first.
    pub claimed_elsewhere: usize,
    /// E-mail messages sent (a digest is one message for many deliveries).
    pub emails_sent: usize,
    /// Something could not be read or recorded; the claim expires and a later pass retries.
    pub failed: usize,
}

impl DispatchReport {
    fn count(&mut self, outcome: DeliveryOutcome) {
        match outcome {
            DeliveryOutcome::Delivered => self.delivered += 1,
            DeliveryOutcome::Retrying => self.retrying += 1,
            DeliveryOutcome::GaveUp => self.given_up += 1,
        }
    }
}

/// How an attempt at one delivery went, for the pass and for Send test event.
#[derive(Debug)]
pub(super) enum Attempted {
    Recorded(Box<Delivery>),
    ClaimedElsewhere,
    Failed,
}

impl Notices {
    /// One dispatcher pass. Never fails: what failed is counted and logged.
    pub async fn dispatch_once(&self) -> DispatchReport {
        let mut report = DispatchReport::default();
        let email_mode = match self.notices.notice_settings().await {
            Ok(settings) => settings.email_mode,
            Err(err) => {
                tracing::error!(error = %err, "could not read the notice settings");
                report.failed += 1;
                return report;
            }
        };
        for _ in 0..MAX_BATCHES {
            let due = match self.notices.due_deliveries(self.now(), BATCH).await {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(error = %err, "could not list the due notice deliveries");
                    report.failed += 1;
                    break;
                }
            };
            let full = due.len() >= BATCH as usize;
            report.due += due.len();
            let (emails, webhooks): (Vec<_>, Vec<_>) = due
                .into_iter()
                .partition(|d| d.channel == DeliveryChannel::Email);
            for delivery in webhooks {
                let attempted = self.attempt(delivery).await;
                tally(&mut report, &attempted);
            }
            match email_mode {
                EmailMode::Immediate => {
                    for delivery in emails {
                        let attempted = self.attempt(delivery).await;
                        if let Attempted::Recorded(d) = &attempted
                            && d.status == DeliveryStatus::Delivered
                        {
                            report.emails_sent += 1;
                        }
                        tally(&mut report, &attempted);
                    }
                }
                EmailMode::DailyDigest => {
                    for group in digest_groups(emails) {
                        self.send_digest(group, &mut report).await;
                    }
                }
            }
            if !full {
                break;
            }
        }
        report
    }

    /// Claims `delivery`, makes one attempt and records it.
    pub(super) async fn attempt(&self, delivery: Delivery) -> Attempted {
        match self.claim(&delivery).await {
            Some(true) => {}
            Some(false) => return Attempted::ClaimedElsewhere,
            None => return Attempted::Failed,
        }
        let record = match delivery.channel {
            DeliveryChannel::Webhook => self.send_webhook(&delivery).await,
            DeliveryChannel::Email => self.send_email(&delivery).await,
        };
        match record {
            Some(record) => self.finish(&delivery, &record).await,
            None => Attempted::Failed,
        }
    }

    async fn claim(&self, delivery: &Delivery) -> Option<bool> {
        let now = self.now();
        match self
            .notices
            .claim_delivery(delivery.id, &self.holder, now, now + CLAIM_FOR)
            .await
        {
            Ok(claimed) => Some(claimed),
            Err(err) => {
                tracing::error!(delivery = %delivery.id, error = %err, "could not claim a notice delivery");
                None
            }
        }
    }

    /// The attempt at a webhook delivery; `None` when what it needs could not be read (the
    /// claim then runs out and a later pass tries again).
    async fn send_webhook(&self, delivery: &Delivery) -> Option<AttemptRecord> {
        let Some(id) = delivery.webhook else {
            return Some(self.give_up(delivery, "the delivery names no webhook endpoint"));
        };
        let endpoint = match self.notices.webhook(id).await {
            Ok(endpoint) => endpoint,
            Err(RepositoryError::NotFound { .. }) => {
                return Some(self.give_up(delivery, "the webhook endpoint was deleted"));
            }
            Err(err) => {
                tracing::error!(webhook = %id, error = %err, "could not read a webhook endpoint");
                return None;
            }
        };
        if !endpoint.enabled {
            return Some(self.give_up(delivery, "the webhook endpoint is disabled"));
        }
        if endpoint.failing_since.is_some() && delivery.notice.event_type != EventType::Test {
            return Some(self.give_up(
                delivery,
                "the webhook endpoint is marked failing; enable it again or send a test event",
            ));
        }
        let secret = match self.notices.webhook_secret(id).await {
            Ok(secret) => secret,
            Err(err) => {
                tracing::error!(webhook = %id, error = %err, "could not read a webhook endpoint's secret");
                return None;
            }
        };
        let body = match render::webhook_body(&delivery.notice) {
            Ok(body) => body,
            Err(err) => {
                return Some(self.give_up(delivery, &format!("could not render the body: {err}")));
            }
        };
        let message = WebhookMessage {
            id: delivery.notice.id.to_string(),
            timestamp: self.now(),
            body,
        };
        let sent = self
            .sender
            .send_webhook(&endpoint.url, &secret, &message)
            .await;
        Some(self.after_send(delivery, sent.map(Some)))
    }

    async fn send_email(&self, delivery: &Delivery) -> Option<AttemptRecord> {
        if delivery.recipients.is_empty() {
            return Some(self.give_up(delivery, "the e-mail delivery has no recipients"));
        }
        let rendered = render::email(&delivery.notice);
        let sent = self.send_rendered(&delivery.recipients, rendered).await;
        Some(self.after_send(delivery, sent.map(|()| None)))
    }

    async fn send_rendered(
        &self,
        to: &[String],
        rendered: render::RenderedEmail,
    ) -> Result<(), SendError> {
        let message = EmailMessage {
            to: to.to_vec(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        };
        self.sender.send_email(&message).await
    }

    /// Claims every delivery of `group` (same recipients), sends them as one message (a single
    /// one as a normal e-mail) and records the attempt of each.
    async fn send_digest(&self, group: Vec<Delivery>, report: &mut DispatchReport) {
        let mut claimed = Vec::new();
        for delivery in group {
            match self.claim(&delivery).await {
                Some(true) => claimed.push(delivery),
                Some(false) => report.claimed_elsewhere += 1,
                None => report.failed += 1,
            }
        }
        let Some(first) = claimed.first() else {
            return;
        };
        let notices: Vec<Notice> = claimed.iter().map(|d| d.notice.clone()).collect();
        let rendered = if notices.len() == 1 {
            render::email(&notices[0])
        } else {
            render::digest(&notices)
        };
        let sent = self
            .send_rendered(&first.recipients.clone(), rendered)
            .await;
        if sent.is_ok() {
            report.emails_sent += 1;
        }
        for delivery in &claimed {
            let record = self.after_send(delivery, sent.clone().map(|()| None));
            let attempted = self.finish(delivery, &record).await;
            tally(report, &attempted);
        }
    }

    /// The attempt record for a send's result: delivered, or what the schedule says.
    fn after_send(
        &self,
        delivery: &Delivery,
        sent: Result<Option<u16>, SendError>,
    ) -> AttemptRecord {
        let at = self.now();
        match sent {
            Ok(status_code) => AttemptRecord {
                at,
                status_code,
                error: None,
                next: AttemptNext::Delivered,
            },
            Err(err) => AttemptRecord {
                at,
                status_code: err.status_code,
                error: Some(err.message),
                next: next_after_failure(delivery, at),
            },
        }
    }

    fn give_up(&self, _delivery: &Delivery, why: &str) -> AttemptRecord {
        AttemptRecord {
            at: self.now(),
            status_code: None,
            error: Some(why.to_owned()),
            next: AttemptNext::GiveUp,
        }
    }

    async fn finish(&self, delivery: &Delivery, record: &AttemptRecord) -> Attempted {
        match self
            .notices
            .record_attempt(delivery.id, record, FAILING_AFTER)
            .await
        {
            Ok(updated) => {
                let outcome = outcome_of(record.next);
                self.observer.notice_delivery(delivery.channel, outcome);
                if outcome != DeliveryOutcome::Delivered {
                    tracing::warn!(delivery = %delivery.id, channel = delivery.channel.as_str(), outcome = outcome.as_str(), error = record.error.as_deref().unwrap_or(""), "notice delivery failed");
                }
                Attempted::Recorded(Box::new(updated))
            }
            Err(err) => {
                tracing::error!(delivery = %delivery.id, error = %err, "could not record a notice delivery attempt");
                Attempted::Failed
            }
        }
    }
}

fn outcome_of(next: AttemptNext) -> DeliveryOutcome {
    match next {
        AttemptNext::Delivered => DeliveryOutcome::Delivered,
        AttemptNext::RetryAt(_) => DeliveryOutcome::Retrying,
        AttemptNext::GiveUp => DeliveryOutcome::GaveUp,
    }
}

/// What follows a failed attempt: a test event is tried once (the administrator sees the
/// answer at once and can press again; a retried test would reach a fixed receiver hours
/// later as a stale surprise); anything else follows [`backoff::RETRY_SCHEDULE`].
fn next_after_failure(delivery: &Delivery, at: OffsetDateTime) -> AttemptNext {
    if delivery.notice.event_type == EventType::Test {
        AttemptNext::GiveUp
    } else {
        backoff::after_failure(delivery.attempts, at)
    }
}

/// E-mail deliveries grouped by recipients (ignoring case and order), oldest notice first.
pub(super) fn digest_groups(emails: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut groups: BTreeMap<Vec<String>, Vec<Delivery>> = BTreeMap::new();
    for delivery in emails {
        let mut key: Vec<String> = delivery
            .recipients
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        key.sort();
        key.dedup();
        groups.entry(key).or_default().push(delivery);
    }
    groups
        .into_values()
        .map(|mut group| {
            group.sort_by_key(|d| (d.notice.occurred_at, d.notice.id));
            group
        })
        .collect()
}

fn tally(report: &mut DispatchReport, attempted: &Attempted) {
    match attempted {
        Attempted::Recorded(delivery) => report.count(match delivery.status {
            DeliveryStatus::Delivered => DeliveryOutcome::Delivered,
            DeliveryStatus::Pending => DeliveryOutcome::Retrying,
            DeliveryStatus::Failed => DeliveryOutcome::GaveUp,
        }),
        Attempted::ClaimedElsewhere => report.claimed_elsewhere += 1,
        Attempted::Failed => report.failed += 1,
    }
}
