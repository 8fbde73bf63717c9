//! Sign-in that cannot be used against the service, through the real binary: failed sign-ins
//! from one address end in a 429 sign-in page with Retry-After for that address only; wrong
//! guesses for `admin` from one address never stop the administrator signing in from another;
//! parallel guesses are all counted; oversized input and a form without its CSRF field are
//! refused and write nothing; windows are measured on the service's clock.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::json;
use serve_support::sign_in_form::{SignInForm, sign_in};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, log_in};
use std::net::IpAddr;

on_both_backends!(
    failed_sign_ins_from_one_address_throttle_that_address_only,
    wrong_guesses_for_admin_from_one_address_do_not_stop_admin_from_another,
    parallel_wrong_passwords_are_all_counted_and_few_reach_the_password_check,
    oversized_sign_in_input_is_refused_and_writes_nothing,
    a_sign_in_without_its_csrf_field_is_refused_and_writes_nothing,
    configured_limits_replace_the_defaults,
);

/// The default limit of `tenantlink_web::AddressThrottleConfig`.
const MAX_FAILURES_PER_ADDRESS: usize = 20;
const WINDOW_SECONDS: u64 = 15 * 60;
/// `tenantlink_service::LoginThrottle::default().free_failures`.
const FREE_FAILURES_PER_PAIR: usize = 3;

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client")
}

async fn audit_len(server: &Server) -> usize {
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let (status, entries) = admin.get("/api/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    entries.as_array().expect("audit entries").len()
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
    assert!(
        !refused
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("tenantlink_session=")),
        "no session"
    );
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"")
            && page.contains("Too many failed sign-ins from your network address"),
        "{page}"
    );

    // Another address is not affected.
    let accepted = sign_in(&colleague, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);

    // The window runs on the service's clock (shared with the sandbox): once it has passed, the
    // address may sign in again.
    server
        .sandbox_control("/clock", json!({ "advance_seconds": WINDOW_SECONDS + 1 }))
        .await;
    let after_window = sign_in(&guesser, &base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(after_window.status(), StatusCode::SEE_OTHER);
}

/// The old per-name lockout (5 failures locked `admin` for everyone) let anyone keep the
/// administrator out; the delay is per (user name, address) now.
async fn wrong_guesses_for_admin_from_one_address_do_not_stop_admin_from_another(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let stranger = client_from("127.0.0.3");
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = sign_in(&stranger, &server.base, "admin", "wrong-password-123").await;
        statuses.push(response.status());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, FREE_FAILURES_PER_PAIR, "{statuses:?}");
    assert!(
        statuses[FREE_FAILURES_PER_PAIR..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    let administrator = client_from("127.0.0.2");
    let accepted = sign_in(&administrator, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        accepted.status(),
        StatusCode::SEE_OTHER,
        "the administrator signs in from their own address"
    );
}

async fn parallel_wrong_passwords_are_all_counted_and_few_reach_the_password_check(
    backend: Backend,
) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let guesser = client_from("127.0.0.4");
    let form = SignInForm::open(&guesser, &server.base).await;
    let attempts: Vec<_> = (0..MAX_FAILURES_PER_ADDRESS)
        .map(|_| {
            let (client, base, form) = (guesser.clone(), server.base.clone(), form.clone());
            tokio::spawn(async move {
                form.post(
                    &client,
                    &base,
                    &[("username", "admin"), ("password", "wrong-password-123")],
                )
                .await
                .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        checked, FREE_FAILURES_PER_PAIR,
        "only the free tries reached the password check: {statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        MAX_FAILURES_PER_ADDRESS - FREE_FAILURES_PER_PAIR
    );
    // All of them counted against the address: it has used up its limit, so even another
    // name with its right password is refused there now.
    let refused = sign_in(&guesser, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("from your network address")
    );
}

async fn oversized_sign_in_input_is_refused_and_writes_nothing(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let before = audit_len(&server).await;
    let client = client_from("127.0.0.5");
    // Just under the old 2 MiB default body limit, which let it through.
    let huge = "a".repeat(2_000_000);
    let outcome = SignInForm::open(&client, &server.base)
        .await
        .try_post(
            &client,
            &server.base,
            &[("username", &huge), ("password", "wrong-password-123")],
        )
        .await;
    // The server answers 413 as soon as the body passes its limit and closes the connection;
    // whether the client reads that answer or first fails writing the rest of the body is a
    // race of the two sockets. Either way the server refused it, and the audit check below
    // proves it wrote nothing.
    match outcome {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(error) => assert!(
            !error.is_timeout() && (error.is_request() || error.is_body()),
            "only a connection closed mid-body may stand in for the 413: {error:?}"
        ),
    }
    let long = "a".repeat(300);
    let response = sign_in(&client, &server.base, &long, "wrong-password-123").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.text().await.unwrap().contains("at most 256 bytes"),
        "the page says why"
    );
    // `audit_len` itself signs in once: that row is the only new one.
    assert_eq!(
        audit_len(&server).await,
        before + 1,
        "no row for the refusals"
    );
}

async fn a_sign_in_without_its_csrf_field_is_refused_and_writes_nothing(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let before = audit_len(&server).await;
    let client = client_from("127.0.0.6");
    let credentials = [("username", "admin"), ("password", ADMIN_PASSWORD)];
    let login = format!("{}/login", server.base);

    // A forged form from another site: no cookie, no field.
    let forged = client.post(&login).form(&credentials).send().await.unwrap();
    // The cookie without the field, and the field without the cookie.
    let form = SignInForm::open(&client, &server.base).await;
    let no_field = client
        .post(&login)
        .header("cookie", &form.cookie)
        .form(&credentials)
        .send()
        .await
        .unwrap();
    let no_cookie = client
        .post(&login)
        .form(&[("csrf", form.csrf.as_str()), credentials[0], credentials[1]])
        .send()
        .await
        .unwrap();
    let other = SignInForm::open(&client, &server.base).await;
    let mismatched = client
        .post(&login)
        .header("cookie", &form.cookie)
        .form(&[
            ("csrf", other.csrf.as_str()),
            credentials[0],
            credentials[1],
        ])
        .send()
        .await
        .unwrap();
    for (what, response) in [
        ("forged", forged),
        ("no field", no_field),
        ("no cookie", no_cookie),
        ("mismatched", mismatched),
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(
            !response
                .headers()
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("tenantlink_session=")),
            "{what}: no session"
        );
    }
    // The form's own field and cookie sign in.
    let accepted = form.post(&client, &server.base, &credentials).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    // That sign-in and `audit_len`'s are the only new rows.
    assert_eq!(audit_len(&server).await, before + 2);
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
