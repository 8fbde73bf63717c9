//! "Send a test event" while another instance's dispatcher claims the new delivery first (seen
//! on PostgreSQL: the dispatcher's pass ran between the recording and the claim, and the
//! administrator got a 500). The answer is then the other pass's outcome, not an error.

use super::{PUBLIC_URL, notice_world};
use crate::support::admin;
use std::sync::{Arc, Mutex};
use tenantlink_clock::{RecordingSleeper, Sleep, Sleeper};
use tenantlink_service::ServiceError;
use tenantlink_service::notices::{DeliveryStatus, Notices, NoticesConfig};

const HOOK: &str = "https://hooks.example/race";

/// A sleeper whose first sleep lets another instance's dispatcher run its pass.
#[derive(Debug)]
struct OtherPassRunsDuringTheWait {
    other: Mutex<Option<Notices>>,
}

impl Sleeper for OtherPassRunsDuringTheWait {
    fn sleep(&self, _duration: std::time::Duration) -> Sleep<'_> {
        let other = self.other.lock().expect("lock").take();
        Box::pin(async move {
            if let Some(other) = other {
                other.dispatch_once().await;
            }
        })
    }
}

fn instance_b(w: &super::NoticeWorld) -> Notices {
    Notices::new(
        Arc::new(w.world.repository.clone()),
        Arc::new(w.sender.clone()),
        w.world.clock.clone(),
        NoticesConfig {
            public_url: Some(PUBLIC_URL.into()),
            instance: Some("instance-b".into()),
            ..NoticesConfig::default()
        },
    )
    .with_sleeper(Arc::new(RecordingSleeper::advancing(w.world.clock.clone())))
}

#[tokio::test]
async fn a_test_event_claimed_by_another_dispatcher_answers_that_dispatchers_outcome() {
    let w = notice_world().await;
    let (endpoint, _secret) = w.webhook(HOOK, &[]).await;
    w.world
        .repository
        .refuse_next_delivery_claim_of("instance-a");
    let waiting = w
        .notices
        .clone()
        .with_sleeper(Arc::new(OtherPassRunsDuringTheWait {
            other: Mutex::new(Some(instance_b(&w))),
        }));
    let delivery = waiting
        .send_test_event(&admin("alice"), endpoint.id)
        .await
        .expect("the other pass's outcome, not an error");
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(w.sender.webhooks().len(), 1, "sent once, by the other pass");
}

#[tokio::test]
async fn a_test_event_whose_other_dispatcher_never_records_an_outcome_says_so() {
    let w = notice_world().await;
    let (endpoint, _secret) = w.webhook(HOOK, &[]).await;
    // Claimed by an instance that stopped before sending: nothing settles the delivery.
    w.world
        .repository
        .refuse_next_delivery_claim_of("instance-a");
    let err = w
        .notices
        .send_test_event(&admin("alice"), endpoint.id)
        .await
        .unwrap_err();
    let ServiceError::Internal(why) = err else {
        panic!("{err:?}");
    };
    assert!(why.contains("being sent by another pass"), "{why}");
    assert!(w.sender.webhooks().is_empty(), "not sent twice");
}
