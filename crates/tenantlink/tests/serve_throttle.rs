//! Sign-in throttling per client address through the real binary: failed sign-ins from one
//! address — each for a different user name, so the per-name lockout never triggers — end in a
//! 429 sign-in page with Retry-After for that address only, even with the right password; another
//! address signs in normally; the per-name lockout still applies on its own; both windows are
//! measured on the service's clock.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server};
use std::net::IpAddr;

on_both_backends!(
    failed_sign_ins_from_one_address_throttle_that_address_only,
    configured_limits_replace_the_defaults,
);

/// The default limit of `tenantlink_web::AddressThrottleConfig`.
const MAX_FAILURES_PER_ADDRESS: usize = 20;
const WINDOW_SECONDS: u64 = 15 * 60;

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client")
}

async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .expect("POST /login")
}

async fn failed_sign_ins_from_one_address_throttle_that_address_only(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let base = server.base.clone();
    // Both are loopback addresses on Linux; the service sees them as different peers.
    let guesser = client_from("127.0.0.1");
    let colleague = client_from("127.0.0.2");

    for attempt in 0..MAX_FAILURES_PER_ADDRESS {
        let response = sign_in(&guesser, &base, &format!("user{attempt}"), "guess-123456").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }

    // The next attempt from that address is refused before the password is looked at — even
    // the administrator's right password — with the explanation and Retry-After.
    let refused = sign_in(&guesser, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After seconds");
    assert!(
        (1..=WINDOW_SECONDS).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert!(refused.headers().get("set-cookie").is_none(), "no session");
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"")
            && page.contains("Too many failed sign-ins from your network address"),
        "{page}"
    );

    // Another address is not affected, and `admin` was never locked by name.
    let accepted = sign_in(&colleague, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert!(accepted.headers().get("set-cookie").is_some());

    // The per-name lockout is its own rule: five wrong passwords for `admin` from a third
    // address lock the name (for every address), long before that address's own limit.
    let typo = client_from("127.0.0.3");
    for attempt in 0..5 {
        let response = sign_in(&typo, &base, "admin", "wrong-password-123").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let locked = sign_in(&colleague, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        locked.headers()["retry-after"],
        WINDOW_SECONDS.to_string().as_str()
    );
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("too many failed sign-ins for this account")
    );

    // The window runs on the service's clock (shared with the sandbox): once it has passed, the
    // address may sign in again.
    server
        .sandbox_control("/clock", json!({ "advance_seconds": WINDOW_SECONDS + 1 }))
        .await;
    let after_window = sign_in(&guesser, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(after_window.status(), StatusCode::SEE_OTHER);
}

/// `TENANTLINK_SIGN_IN_MAX_FAILURES` and `TENANTLINK_SIGN_IN_WINDOW_MINUTES` reach the running
/// service: 3 failures in a 2-minute window instead of 20 in 15.
async fn configured_limits_replace_the_defaults(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let mut options = deployment.options();
    options.env.extend([
        ("TENANTLINK_SIGN_IN_MAX_FAILURES".to_owned(), "3".to_owned()),
        (
            "TENANTLINK_SIGN_IN_WINDOW_MINUTES".to_owned(),
            "2".to_owned(),
        ),
    ]);
    let server = Server::start_with(&deployment.data_dir(), options);
    let guesser = client_from("127.0.0.1");
    for attempt in 0..3 {
        let response = sign_in(
            &guesser,
            &server.base,
            &format!("user{attempt}"),
            "guess-123456",
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let refused = sign_in(&guesser, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the 4th attempt"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After seconds");
    assert!(
        (1..=120).contains(&retry_after),
        "Retry-After {retry_after} within the 2-minute window"
    );

    server
        .sandbox_control("/clock", json!({ "advance_seconds": 121 }))
        .await;
    let after_window = sign_in(&guesser, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        after_window.status(),
        StatusCode::SEE_OTHER,
        "the 2-minute window has passed"
    );
}
