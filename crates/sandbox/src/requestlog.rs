//! Every request the sandbox served, without secrets: method, path (query values dropped),
//! status, the AADSTS or Graph code, and the fault injected if any. Kept in memory (bounded) for
//! `GET /_sandbox/requests`, and written to the tracing log.

use serde::Serialize;
use std::collections::VecDeque;
use time::OffsetDateTime;

const CAPACITY: usize = 2000;

/// Set by handlers on their response so the log can name the error code.
#[derive(Debug, Clone)]
pub(crate) struct Outcome(pub String);

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoggedRequest {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
}

impl RequestLog {
    pub(crate) fn record(&mut self, entry: LoggedRequest) {
        tracing::info!(
            method = %entry.method,
            path = %entry.path,
            status = entry.status,
            outcome = entry.outcome.as_deref().unwrap_or(""),
            fault = entry.fault.as_deref().unwrap_or(""),
            "sandbox request"
        );
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The path with query parameter values removed: query strings can carry codes and tokens.
pub(crate) fn redacted_path(path: &str, query: Option<&str>) -> String {
    match query {
        None | Some("") => path.to_owned(),
        Some(query) => {
            let names: Vec<&str> = query
                .split('&')
                .map(|pair| pair.split('=').next().unwrap_or(""))
                .collect();
            format!("{path}?{}", names.join("&"))
        }
    }
}
