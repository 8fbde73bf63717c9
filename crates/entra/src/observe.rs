//! A hook for metrics: the transport reports every logical call (after its retries) and the
//! token client every cache lookup to an optional [`CallObserver`]. This crate knows no metrics
//! library; the binary implements the trait. The labels are bounded by construction: the
//! endpoint is the URL's route with every id replaced, the outcome a status or an AADSTS code.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// Which Microsoft service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Entra,
    Graph,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::Graph => "graph",
        }
    }
}

/// One logical call, after the transport's retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub service: Service,
    /// The route: `token`, `devicecode`, or Graph's path after `v1.0` with ids as `{id}`
    /// (`applications/{id}/addKey`).
    pub endpoint: String,
    /// The HTTP status (`200`, `429`), Entra's first AADSTS code when its error body names one
    /// (`AADSTS700027`), or why no answer came (`timeout`, `connect`, `too_large`, `error`).
    pub outcome: String,
    /// From the first attempt to the end, retries and their waits included.
    pub elapsed: Duration,
    pub attempts: u32,
}

/// Whether a token came from the cache or had to be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheLookup {
    Hit,
    Miss,
}

impl CacheLookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
        }
    }
}

/// Receives calls and cache lookups; must be cheap and never block.
pub trait CallObserver: Send + Sync + Debug {
    fn call(&self, _record: &CallRecord) {}
    fn token_cache(&self, _lookup: CacheLookup) {}
}

pub type SharedCallObserver = Arc<dyn CallObserver>;

/// The route of `url` and its service. Entra's token and device-code endpoints end in
/// `oauth2/v2.0/{token,devicecode}` (after the tenant and any path prefix); Graph's paths start
/// at a version segment (`v1.0`, `beta`). Segments after a collection are ids, as are segments
/// that are not plain words; a key in parentheses (`applications(appId='…')`) keeps its name.
pub fn route_of(url: &url::Url) -> (Service, String) {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if let [.., "oauth2", "v2.0", last] = segments.as_slice() {
        return (Service::Entra, (*last).to_owned());
    }
    let Some(version) = segments.iter().position(|s| *s == "v1.0" || *s == "beta") else {
        return (Service::Graph, "other".to_owned());
    };
    let mut route = Vec::new();
    let mut after_collection = false;
    for segment in &segments[version + 1..] {
        let (word, is_id) = route_segment(segment, after_collection);
        after_collection = !is_id && COLLECTIONS.contains(&word.as_str());
        route.push(word);
    }
    (Service::Graph, route.join("/"))
}

/// Graph collections whose next segment is a member's id (unless it is a function like `delta`).
const COLLECTIONS: &[&str] = &[
    "applications",
    "servicePrincipals",
    "users",
    "mailFolders",
    "childFolders",
    "messages",
];
const FUNCTIONS: &[&str] = &["delta", "addKey", "removeKey"];

fn route_segment(segment: &str, after_collection: bool) -> (String, bool) {
    if let Some((name, key)) = segment.split_once('(') {
        let key = key.split_once('=').map_or("", |(k, _)| k);
        if is_word(name) && is_word(key) {
            return (format!("{name}({key}={{id}})"), true);
        }
        return ("{id}".to_owned(), true);
    }
    let function = FUNCTIONS.contains(&segment);
    if (after_collection && !function) || !is_word(segment) {
        return ("{id}".to_owned(), true);
    }
    (segment.to_owned(), false)
}

fn is_word(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
}

/// Entra's first error code from an error body (`"error_codes": [700027]`), as `AADSTS700027`.
pub fn aadsts_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Codes {
        #[serde(default)]
        error_codes: Vec<u64>,
    }
    let codes: Codes = serde_json::from_slice(body).ok()?;
    codes
        .error_codes
        .first()
        .map(|code| format!("AADSTS{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(url: &str) -> (Service, String) {
        route_of(&url::Url::parse(url).unwrap())
    }

    #[test]
    fn routes_keep_words_and_replace_ids() {
        let tenant = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
        assert_eq!(route(tenant), (Service::Entra, "token".into()));
        let sandbox =
            "http://127.0.0.1:9/prefix/11111111-2222-3333-4444-555555555555/oauth2/v2.0/devicecode";
        assert_eq!(route(sandbox), (Service::Entra, "devicecode".into()));
        let cases = [
            ("applications(appId='abc-123')", "applications(appId={id})"),
            ("applications/8a7b-11", "applications/{id}"),
            ("applications/8a7b-11/addKey", "applications/{id}/addKey"),
            ("applications/abc/removeKey", "applications/{id}/removeKey"),
            ("users", "users"),
            ("users/alice", "users/{id}"),
            ("users/9f0e-1/messages/delta", "users/{id}/messages/delta"),
            (
                "users/9f0e-1/mailFolders/inbox/messages/delta",
                "users/{id}/mailFolders/{id}/messages/delta",
            ),
        ];
        for (path, expected) in cases {
            let url = format!("https://graph.microsoft.com/v1.0/{path}?$select=id");
            assert_eq!(route(&url), (Service::Graph, expected.into()), "{path}");
        }
        assert_eq!(
            route("https://graph.example/elsewhere"),
            (Service::Graph, "other".into())
        );
    }

    #[test]
    fn the_first_aadsts_code_is_the_outcome() {
        let body = br#"{"error":"invalid_client","error_codes":[700027,50000]}"#;
        assert_eq!(aadsts_code(body).as_deref(), Some("AADSTS700027"));
        assert_eq!(
            aadsts_code(br#"{"error":{"code":"Request_ResourceNotFound"}}"#),
            None
        );
        assert_eq!(aadsts_code(b"<html>"), None);
    }
}
