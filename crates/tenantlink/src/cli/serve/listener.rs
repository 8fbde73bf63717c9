//! The portal's listener: HTTP or HTTPS with limits a slow or hostile client cannot get around.
//! A connection must send its request headers (and finish the TLS handshake) within the header
//! timeout or it is closed; a request must be answered within the request timeout or it gets
//! 408; beyond the connection limit a new connection is closed at once, so a few thousand idle
//! sockets cannot take every file descriptor.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The listener's limits (`[http]` in the configuration, see `config/http.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// From accepting a connection to its request headers (TLS handshake included), and
    /// between two requests' headers on a kept-alive HTTP/1.1 connection.
    pub header_read_timeout: Duration,
    /// From a request's headers to its response.
    pub request_timeout: Duration,
    /// Open connections at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_connections: 512,
        }
    }
}

/// Says so on standard error when passwords and session cookies would cross the network in
/// clear: a non-loopback address without TLS here.
pub fn warn_if_plain_http_off_loopback(listen: SocketAddr, tls: bool, secure_cookies: bool) {
    if let Some(warning) = plain_http_warning(listen, tls, secure_cookies) {
        eprintln!("{warning}");
        tracing::warn!(%listen, "{warning}");
    }
}

fn plain_http_warning(listen: SocketAddr, tls: bool, secure_cookies: bool) -> Option<String> {
    if tls || listen.ip().is_loopback() {
        return None;
    }
    let advice = if secure_cookies {
        "`secure_cookies` says a TLS-terminating proxy is in front: make sure only that proxy can reach this address"
    } else {
        "configure tls.cert and tls.key, or put a TLS-terminating proxy in front and set http.secure_cookies = true"
    };
    Some(format!(
        "warning: listening on {listen} over plain HTTP: sign-in passwords and session cookies cross the network unencrypted; {advice}"
    ))
}

/// Serves `app` on `listener` until `handle` shuts it down.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: ListenerLimits,
    handle: axum_server::Handle<SocketAddr>,
) -> std::io::Result<()> {
    let request_timeout = limits.request_timeout;
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            match tokio::time::timeout(request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => (
                    StatusCode::REQUEST_TIMEOUT,
                    "the request took longer than the server's request timeout\n",
                )
                    .into_response(),
            }
        },
    ));
    // The peer address keys the per-address sign-in throttle (tenantlink_web::AddressThrottle),
    // over HTTPS as over HTTP.
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let limit = ConnectionLimit::new(limits.max_connections);
    let mut server = axum_server::from_tcp(listener)?
        .handle(handle)
        // Also bounds HTTP/2's preface and the protocol detection, which the HTTP/1 header
        // timeout does not cover.
        .first_request_timeout(limits.header_read_timeout)
        .accept_error_handler(
            |peer, error| tracing::debug!(peer = ?peer, %error, "connection not accepted"),
        );
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_read_timeout);
    match tls {
        Some(tls) => {
            let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(tls))
                .handshake_timeout(limits.header_read_timeout)
                .acceptor(limit);
            server.acceptor(acceptor).serve(service).await
        }
        None => server.acceptor(limit).serve(service).await,
    }
}

/// Admits a connection only while fewer than the limit are open; the permit travels with the
/// connection's stream and is returned when the connection closes.
#[derive(Debug, Clone)]
struct ConnectionLimit {
    permits: Arc<Semaphore>,
}

impl ConnectionLimit {
    fn new(max_connections: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_connections)),
        }
    }
}

impl<I, S> Accept<I, S> for ConnectionLimit {
    type Stream = Counted<I>;
    type Service = S;
    type Future = std::future::Ready<std::io::Result<(Counted<I>, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        std::future::ready(match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok((
                Counted {
                    inner: stream,
                    _permit: permit,
                },
                service,
            )),
            // Dropping the stream closes the connection.
            Err(_) => Err(std::io::Error::other("the connection limit is reached")),
        })
    }
}

/// A connection's stream holding its place under the connection limit.
#[derive(Debug)]
struct Counted<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_off_loopback_is_warned_about() {
        let anywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let warning = plain_http_warning(anywhere, false, false).unwrap();
        assert!(
            warning.starts_with("warning: listening on 0.0.0.0:8080 over plain HTTP")
                && warning.contains("http.secure_cookies = true"),
            "{warning}"
        );
        let behind_proxy = plain_http_warning(anywhere, false, true).unwrap();
        assert!(behind_proxy.contains("only that proxy"), "{behind_proxy}");
        assert_eq!(plain_http_warning(anywhere, true, true), None, "TLS here");
        for loopback in ["127.0.0.1:8080", "[::1]:8080"] {
            assert_eq!(
                plain_http_warning(loopback.parse().unwrap(), false, false),
                None
            );
        }
    }
}
