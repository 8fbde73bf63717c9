//! Reading an error's chain of causes, to say in the delivery log what happened.

use std::error::Error;

/// Each cause under `error` (not `error` itself), outermost first. An `io::Error` wrapping
/// another error reports that error's own causes as its source, so the wrapped one is visited
/// explicitly.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut found = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        found.push(cause);
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => {
                found.push(inner);
                inner.source()
            }
            None => cause.source(),
        };
    }
    found
}

/// The causes' messages joined with `: `, repeats removed; `error`'s own when it has none.
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = chain(error).iter().map(ToString::to_string).collect();
    parts.dedup();
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}

pub fn is_connection_refused(error: &(dyn Error + 'static)) -> bool {
    chain(error).iter().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// How rustls's errors begin (`rustls::Error`'s `Display`), for the clients that pass one on as
/// text only (lettre does).
const RUSTLS_MESSAGES: [&str; 6] = [
    "invalid peer certificate",
    "peer is incompatible",
    "peer misbehaved",
    "received corrupt message",
    "received fatal alert",
    "received unexpected message",
];

/// A TLS failure: the certificate, the handshake, or a peer that does not speak TLS.
pub fn is_tls(error: &(dyn Error + 'static)) -> bool {
    chain(error).iter().any(|cause| {
        cause.downcast_ref::<rustls::Error>().is_some() || {
            let text = cause.to_string();
            RUSTLS_MESSAGES.iter().any(|m| text.starts_with(m))
        }
    })
}
