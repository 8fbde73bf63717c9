//! Injected faults: per route pattern, a delay, an HTTP error (429 with `Retry-After`, 500, 503)
//! or a dropped connection, either for the next N matching requests or with a probability.

use serde::{Deserialize, Serialize};
use std::time::Duration;

// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct FaultSpec {
    /// Path pattern; `*` matches any run of characters (`/*/oauth2/v2.0/token`, `/v1.0/applications*`).
    pub route: String,
    /// Only this HTTP method, if given.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(flatten)]
    pub effect: FaultEffect,
    /// Applies to the next `count` matching requests, then disappears.
    #[serde(default)]
    pub count: Option<u32>,
    /// Applies to each matching request with this probability (0..=1). Default 1.
    #[serde(default)]
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum FaultEffect {
    /// Delay the request, then serve it normally.
    Latency { latency_ms: u64 },
    /// Answer with this status (429, 500, 503, …) instead of serving the request.
    Status {
        status: u16,
        #[serde(default)]
        retry_after_seconds: Option<u64>,
    },
    /// Close the connection without a complete response.
    Drop,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FaultSpecError {
    #[error("route must start with '/'")]
    Route,
    #[error("probability must be between 0 and 1")]
    Probability,
    #[error("status must be an HTTP error status (400..=599)")]
    Status,
    #[error("count must be at least 1")]
    Count,
}

impl FaultSpec {
    pub(crate) fn validate(&self) -> Result<(), FaultSpecError> {
        if !self.route.starts_with('/') {
            return Err(FaultSpecError::Route);
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultSpecError::Probability);
        }
        if let FaultEffect::Status { status, .. } = self.effect
            && !(400..=599).contains(&status)
        {
            return Err(FaultSpecError::Status);
        }
        if self.count == Some(0) {
            return Err(FaultSpecError::Count);
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob_match(&self.route, path)
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: Vec<FaultSpec>,
}

/// What the middleware must do for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FaultAction {
    Delay(Duration),
    Respond {
        status: u16,
        retry_after_seconds: Option<u64>,
    },
    Drop,
}

impl FaultAction {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Delay(d) => format!("latency {} ms", d.as_millis()),
            Self::Respond { status, .. } => format!("status {status}"),
            Self::Drop => "dropped connection".to_owned(),
        }
    }
}

impl FaultTable {
    pub(crate) fn add(&mut self, spec: FaultSpec) {
        self.faults.push(spec);
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn list(&self) -> Vec<FaultSpec> {
        self.faults.clone()
    }

    /// The faults that fire for this request, consuming one use of counted faults.
    /// `draw` yields uniform numbers in [0, 1) for probabilistic faults.
    pub(crate) fn fire(
        &mut self,
        method: &str,
        path: &str,
        mut draw: impl FnMut() -> f64,
    ) -> Vec<FaultAction> {
        let mut actions = Vec::new();
        for fault in self.faults.iter_mut() {
            if !fault.matches(method, path) {
                continue;
            }
            if let Some(p) = fault.probability
                && draw() >= p
            {
                continue;
            }
            if let Some(count) = fault.count.as_mut() {
                *count -= 1;
            }
            actions.push(match fault.effect {
                FaultEffect::Latency { latency_ms } => {
                    FaultAction::Delay(Duration::from_millis(latency_ms))
                }
                FaultEffect::Status {
                    status,
                    retry_after_seconds,
                } => FaultAction::Respond {
                    status,
                    retry_after_seconds,
                },
                FaultEffect::Drop => FaultAction::Drop,
            });
        }
        self.faults.retain(|f| f.count != Some(0));
        actions
    }
}

/// `*` matches any (possibly empty) run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_tenant_wildcards_and_prefixes() {
        assert!(glob_match(
            "/*/oauth2/v2.0/token",
            "/contoso.com/oauth2/v2.0/token"
        ));
        assert!(!glob_match(
            "/*/oauth2/v2.0/token",
            "/contoso.com/oauth2/v2.0/devicecode"
        ));
        assert!(glob_match(
            "/v1.0/applications*",
            "/v1.0/applications(appId='x')/addKey"
        ));
        assert!(glob_match("/exact", "/exact"));
        assert!(!glob_match("/exact", "/exact/more"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b*", "xxbxxaxx"));
    }

    #[test]
    fn counted_fault_fires_exactly_n_times() {
        let mut table = FaultTable::default();
        table.add(FaultSpec {
            route: "/x".into(),
            method: None,
            effect: FaultEffect::Drop,
            count: Some(2),
            probability: None,
        });
        assert_eq!(table.fire("GET", "/x", || 0.0), vec![FaultAction::Drop]);
        assert_eq!(table.fire("GET", "/x", || 0.0), vec![FaultAction::Drop]);
        assert!(table.fire("GET", "/x", || 0.0).is_empty());
        assert!(table.list().is_empty());
    }

    #[test]
    fn probabilistic_fault_follows_the_draw() {
        let mut table = FaultTable::default();
        table.add(FaultSpec {
            route: "/x".into(),
            method: Some("POST".into()),
            effect: FaultEffect::Status {
                status: 503,
                retry_after_seconds: None,
            },
            count: None,
            probability: Some(0.25),
        });
        assert!(table.fire("POST", "/x", || 0.3).is_empty());
        assert_eq!(table.fire("POST", "/x", || 0.2).len(), 1);
        assert!(table.fire("GET", "/x", || 0.0).is_empty());
    }
}
