//! A webhook receiver: a local HTTP server (127.0.0.1, a free port) that records every request
//! and answers 200, or what the test scripted for the next requests (an error status, a
//! redirect). It runs on its own thread and runtime, so it serves synchronous tests, either
//! tokio flavour and a `tenantlink serve` child process alike, and stops with its guard.
//!
//! A request is recorded before it is answered: once a sender has its answer, the request is in
//! [`WebhookReceiver::requests`]. A test waiting for another process's delivery uses
//! [`WebhookReceiver::wait_for_requests`], which returns as soon as the count is reached.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// One request as received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-case names; the last value of a repeated header.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// A 3xx with `Location`.
    Redirect {
        status: u16,
        location: String,
    },
}

#[derive(Debug)]
struct Shared {
    requests: Mutex<Vec<ReceivedRequest>>,
    script: Mutex<VecDeque<Answer>>,
    received: watch::Sender<usize>,
}

#[derive(Debug)]
pub struct WebhookReceiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebhookReceiver {
    /// Listening when this returns.
    pub fn start() -> Self {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            received: watch::channel(0).0,
        });
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the webhook receiver");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("its address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(record)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the webhook receiver")
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop.await;
                        })
                        .await
                        .expect("the webhook receiver failed");
                });
        });
        Self {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT` and `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The next `times` requests get `answer`, after anything scripted before; then 200 again.
    pub fn answer_next(&self, times: usize, answer: Answer) {
        let mut script = self.shared.script.lock().unwrap();
        script.extend(std::iter::repeat_n(answer, times));
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests once there are at least `count`; panics when `within` passes first.
    pub async fn wait_for_requests(&self, count: usize, within: Duration) -> Vec<ReceivedRequest> {
        let mut received = self.shared.received.subscribe();
        // `wait_for`'s guard would hold the count's lock: keep only whether it was reached.
        let reached = tokio::time::timeout(within, received.wait_for(|n| *n >= count))
            .await
            .is_ok_and(|changed| changed.is_ok());
        assert!(
            reached,
            "the webhook receiver got {} request(s) within {within:?}, not {count}",
            self.shared.requests.lock().unwrap().len()
        );
        self.requests()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = ReceivedRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), ToString::to_string),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let count = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(request);
        requests.len()
    };
    shared.received.send_replace(count);
    let answer = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(status) => status_code(status).into_response(),
        Answer::Redirect { status, location } => {
            (status_code(status), [("location", location)]).into_response()
        }
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("a scripted status is an HTTP status")
}
