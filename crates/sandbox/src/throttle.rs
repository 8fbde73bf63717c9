//! A per-tenant budget of Graph application requests (GET, PATCH, addKey, removeKey under
//! `/v1.0/applications`), counted in fixed windows of sandbox time. Graph throttles identity
//! requests with token buckets per app+tenant, per app and per tenant (reads and writes apart);
//! tests need one knob that makes the next request answer 429 with `Retry-After`, and a clock
//! move (never a sleep) that ends it. Off unless the `graph_throttle` setting is given.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// `{"requests": N, "window_seconds": S}`: at most N application requests per tenant in S seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraphThrottle {
    pub requests: u32,
    pub window_seconds: u32,
}

impl GraphThrottle {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.requests == 0 || self.window_seconds == 0 {
            return Err(format!(
                "'graph_throttle' needs 'requests' and 'window_seconds' of at least 1 (got {} and {}); use null for no throttling",
                self.requests, self.window_seconds
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: OffsetDateTime,
    used: u32,
}

/// The current window of each tenant.
#[derive(Debug, Default)]
pub(crate) struct ThrottleWindows {
    windows: HashMap<Uuid, Window>,
}

impl ThrottleWindows {
    /// Counts one request of `tenant`, or refuses it with the whole seconds until its window
    /// ends (at least 1). A refused request uses no budget. A clock moved back behind a window's
    /// start begins a new window, as does the end of the old one.
    pub(crate) fn admit(
        &mut self,
        tenant: Uuid,
        budget: GraphThrottle,
        now: OffsetDateTime,
    ) -> Result<(), u64> {
        let length = Duration::seconds(i64::from(budget.window_seconds));
        let window = self.windows.entry(tenant).or_insert(Window {
            started: now,
            used: 0,
        });
        if now < window.started || now >= window.started + length {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        if window.used >= budget.requests {
            let left = (window.started + length - now).as_seconds_f64().ceil();
            return Err((left as u64).max(1));
        }
        window.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const BUDGET: GraphThrottle = GraphThrottle {
        requests: 2,
        window_seconds: 60,
    };

    #[test]
    fn the_budget_is_spent_then_refused_until_the_window_ends() {
        let mut windows = ThrottleWindows::default();
        let tenant = Uuid::new_v4();
        let start = datetime!(2026-12-02 10:00:00 UTC);
        assert_eq!(windows.admit(tenant, BUDGET, start), Ok(()));
        assert_eq!(
            windows.admit(tenant, BUDGET, start + Duration::seconds(10)),
            Ok(())
        );
        assert_eq!(
            windows.admit(tenant, BUDGET, start + Duration::milliseconds(20_500)),
            Err(40),
            "39.5 s left, rounded up"
        );
        assert_eq!(
            windows.admit(tenant, BUDGET, start + Duration::seconds(60)),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn tenants_have_their_own_budgets() {
        let mut windows = ThrottleWindows::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let now = datetime!(2026-12-02 10:00:00 UTC);
        let one = GraphThrottle {
            requests: 1,
            window_seconds: 5,
        };
        assert_eq!(windows.admit(a, one, now), Ok(()));
        assert_eq!(windows.admit(a, one, now), Err(5));
        assert_eq!(windows.admit(b, one, now), Ok(()));
    }

    #[test]
    fn a_clock_moved_back_starts_a_new_window() {
        let mut windows = ThrottleWindows::default();
        let tenant = Uuid::new_v4();
        let now = datetime!(2026-12-02 10:00:00 UTC);
        let one = GraphThrottle {
            requests: 1,
            window_seconds: 600,
        };
        assert_eq!(windows.admit(tenant, one, now), Ok(()));
        assert_eq!(windows.admit(tenant, one, now - Duration::hours(1)), Ok(()));
    }

    #[test]
    fn zero_budgets_are_refused_with_the_fix() {
        let zero = GraphThrottle {
            requests: 0,
            window_seconds: 10,
        };
        assert!(zero.validate().unwrap_err().contains("use null"));
        assert!(BUDGET.validate().is_ok());
    }
}
