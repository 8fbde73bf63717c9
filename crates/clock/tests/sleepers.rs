//! The sleepers behind `dyn Sleeper`: the recording one moves the manual clock instead of
//! waiting, so no test sleeps.

use std::sync::Arc;
use std::time::Duration;

use tenantlink_clock::{
    Clock, ManualClock, RecordingSleeper, SharedSleeper, Sleeper, TokioSleeper,
};
use time::macros::datetime;

#[tokio::test]
async fn a_recording_sleeper_records_each_wait_and_advances_its_clock() {
    let clock = Arc::new(ManualClock::at(datetime!(2026-01-01 0:00 UTC)));
    let sleeper = RecordingSleeper::advancing(clock.clone());
    let shared: SharedSleeper = Arc::new(sleeper.clone());
    shared.sleep(Duration::from_secs(5)).await;
    shared.sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sleeper.waits(),
        [Duration::from_secs(5), Duration::from_millis(1500)],
        "clones share the record"
    );
    assert_eq!(clock.now(), datetime!(2026-01-01 0:00:06.5 UTC));
}

#[tokio::test]
async fn a_recording_sleeper_without_a_clock_only_records() {
    let sleeper = RecordingSleeper::new();
    sleeper.sleep(Duration::from_secs(3600)).await;
    assert_eq!(sleeper.waits(), [Duration::from_secs(3600)]);
}

#[tokio::test]
async fn the_tokio_sleeper_is_usable_as_a_shared_sleeper() {
    let shared: SharedSleeper = Arc::new(TokioSleeper);
    shared.sleep(Duration::ZERO).await;
}
