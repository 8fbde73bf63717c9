//! The mail control API: messages added or changed through `/_sandbox/mail` show in Graph's
//! messages list and in the next delta round (exactly once, changed ones with their new content),
//! survive a restart, and bad input is refused without changing anything.

mod common;

use common::{Fixture, TestCertificate};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An app-only Graph token of the backup application (Mail.Read on every mailbox).
async fn app_token(fx: &Fixture) -> String {
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (status, body) = fx.client_credentials(&fx.assertion(&certificate)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(fx: &Fixture, url: &str, token: &str, page_size: Option<usize>) -> Value {
    let mut request = fx.http.get(url).bearer_auth(token);
    if let Some(size) = page_size {
        request = request.header("Prefer", format!("odata.maxpagesize={size}"));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

/// Follows a delta round from `url` to its deltaLink: (messages, pages, deltaLink).
async fn delta_round(
    fx: &Fixture,
    token: &str,
    url: &str,
    page_size: Option<usize>,
) -> (Vec<Value>, usize, String) {
    let (mut messages, mut pages, mut url) = (Vec::new(), 0, url.to_owned());
    loop {
        let page = get(fx, &url, token, page_size).await;
        pages += 1;
        messages.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(delta) = page["@odata.deltaLink"].as_str() {
            return (messages, pages, delta.to_owned());
        }
        url = page["@odata.nextLink"]
            .as_str()
            .expect("nextLink")
            .to_owned();
    }
}

fn delta_start(fx: &Fixture, user: &str) -> String {
    format!(
        "{}/users/{user}/mailFolders/inbox/messages/delta",
        fx.info().graph_base
    )
}

/// Every message of the messages list, in order.
async fn all_messages(fx: &Fixture, token: &str, user: &str) -> Vec<Value> {
    let mut url = format!("{}/users/{user}/messages?$top=25", fx.info().graph_base);
    let mut messages = Vec::new();
    loop {
        let page = get(fx, &url, token, None).await;
        messages.extend(page["value"].as_array().unwrap().iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return messages,
        }
    }
}

async fn change(fx: &Fixture, id: &str, body: Value) -> (StatusCode, Value) {
    let response = fx
        .http
        .patch(fx.url(&format!("/_sandbox/mail/{id}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn an_added_message_is_listed_and_comes_once_in_the_next_delta_round() {
    let fx = Fixture::start().await;
    let token = app_token(&fx).await;
    let user = fx.plain_user();
    let (first, _, delta_link) = delta_round(&fx, &token, &delta_start(&fx, &user), None).await;
    assert_eq!(first.len(), 57);

    let (status, added) = fx
        .control(
            "/mail",
            json!({"user": user, "subject": "Budget 2027", "sender": {"name": "Alex Wilber", "address": "alex@contoso.example"}, "body": "Numbers attached.\n\nAlex"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let id = added["message"]["id"].as_str().unwrap().to_owned();
    assert!(!ids(&first).contains(&id.as_str()));

    let (changes, _, next_link) = delta_round(&fx, &token, &delta_link, None).await;
    assert_eq!(ids(&changes), vec![id.as_str()]);
    let message = &changes[0];
    assert_eq!(message["subject"], "Budget 2027");
    assert_eq!(
        message["from"]["emailAddress"]["address"],
        "alex@contoso.example"
    );
    assert_eq!(message["from"]["emailAddress"]["name"], "Alex Wilber");
    assert_eq!(message["body"]["content"], "Numbers attached.\n\nAlex");
    assert_eq!(message["bodyPreview"], "Numbers attached. Alex");
    assert_eq!(
        message, &added["message"],
        "the control API answers with Graph's rendering"
    );

    let (again, _, _) = delta_round(&fx, &token, &next_link, None).await;
    assert!(again.is_empty(), "each change is delivered once: {again:?}");

    // The list has it first (received now, newer than every generated message).
    let listed = all_messages(&fx, &token, &user).await;
    assert_eq!(listed.len(), 58);
    assert_eq!(listed[0]["id"], id.as_str());
    // Other mailboxes are untouched.
    let admin = fx.admin();
    let (_, _, admin_link) = delta_round(&fx, &token, &delta_start(&fx, &admin), None).await;
    assert_eq!(all_messages(&fx, &token, &admin).await.len(), 57);
    let (admin_changes, _, _) = delta_round(&fx, &token, &admin_link, None).await;
    assert!(admin_changes.is_empty());
}

#[tokio::test]
async fn a_changed_message_comes_back_changed_with_the_same_id() {
    let fx = Fixture::start().await;
    let token = app_token(&fx).await;
    let user = fx.plain_user();
    let (first, _, delta_link) = delta_round(&fx, &token, &delta_start(&fx, &user), None).await;
    let generated = first[3].clone();
    let id = generated["id"].as_str().unwrap();

    let (status, changed) = change(
        &fx,
        id,
        json!({"subject": "Quarterly report FINAL", "is_read": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (changes, _, next_link) = delta_round(&fx, &token, &delta_link, None).await;
    assert_eq!(ids(&changes), vec![id]);
    assert_eq!(changes[0]["subject"], "Quarterly report FINAL");
    assert_eq!(changes[0]["isRead"], true);
    // What was not changed stays as it was.
    for property in ["receivedDateTime", "from", "body", "importance"] {
        assert_eq!(changes[0][property], generated[property], "{property}");
    }
    assert!(changes[0]["lastModifiedDateTime"].is_string());

    // The list shows the new subject in the same place.
    let listed = all_messages(&fx, &token, &user).await;
    assert_eq!(listed.len(), 57);
    assert_eq!(listed[3]["id"], id);
    assert_eq!(listed[3]["subject"], "Quarterly report FINAL");

    // A message added through the control API can be changed too (POST works like PATCH).
    let (_, added) = fx
        .control("/mail", json!({"user": user, "subject": "Draft", "sender": "ops@contoso.example", "body": "v1"}))
        .await;
    let added_id = added["message"]["id"].as_str().unwrap().to_owned();
    let (status, _) = fx
        .control(
            &format!("/mail/{added_id}"),
            json!({"body": "v2", "sender": "lead@contoso.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (changes, _, _) = delta_round(&fx, &token, &next_link, None).await;
    assert_eq!(
        ids(&changes),
        vec![added_id.as_str()],
        "added then changed: delivered once"
    );
    assert_eq!(changes[0]["body"]["content"], "v2");
    assert_eq!(changes[0]["subject"], "Draft");
    assert_eq!(
        changes[0]["from"]["emailAddress"]["address"],
        "lead@contoso.example"
    );
}

#[tokio::test]
async fn delta_rounds_page_and_a_round_in_progress_is_not_disturbed_by_new_mail() {
    let fx = Fixture::start().await;
    let token = app_token(&fx).await;
    let user = fx.plain_user();

    // A first round at 20 per page; a message arrives after its first page.
    let first_page = get(&fx, &delta_start(&fx, &user), &token, Some(20)).await;
    assert_eq!(first_page["value"].as_array().unwrap().len(), 20);
    let (_, late) = fx
        .control(
            "/mail",
            json!({"user": user, "subject": "Late", "sender": "late@contoso.example", "body": "x"}),
        )
        .await;
    let late_id = late["message"]["id"].as_str().unwrap().to_owned();
    let next = first_page["@odata.nextLink"].as_str().unwrap();
    let (rest, pages, delta_link) = delta_round(&fx, &token, next, None).await;
    assert_eq!(pages, 2, "the page size is kept in the next link");
    let mut seen: Vec<&str> = ids(first_page["value"].as_array().unwrap());
    seen.extend(ids(&rest));
    assert_eq!(
        seen.len(),
        57,
        "the round covers the mailbox as it was when it began"
    );
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 57);
    assert!(!seen.contains(&late_id.as_str()));

    // The next round brings the late message and three more, two per page.
    for n in 0..3 {
        let (status, _) = fx
            .control("/mail", json!({"user": user, "subject": format!("Burst {n}"), "sender": "burst@contoso.example", "body": "x"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (changes, pages, _) = delta_round(&fx, &token, &delta_link, Some(2)).await;
    assert_eq!(pages, 2);
    let subjects: Vec<&str> = changes
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        vec!["Late", "Burst 0", "Burst 1", "Burst 2"],
        "oldest change first"
    );
}

#[tokio::test]
async fn mail_changes_survive_a_restart_and_old_delta_links_still_work() {
    let fx = Fixture::start().await;
    let token = app_token(&fx).await;
    let user = fx.plain_user();
    let (first, _, delta_link) = delta_round(&fx, &token, &delta_start(&fx, &user), None).await;
    let generated_id = first[0]["id"].as_str().unwrap().to_owned();
    let (_, added) = fx
        .control("/mail", json!({"user": user, "subject": "Kept", "sender": "ops@contoso.example", "body": "kept", "received": "2026-11-20T08:30:00Z"}))
        .await;
    let (status, _) = change(
        &fx,
        &generated_id,
        json!({"subject": "Changed before restart"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let old_base = fx.info().graph_base.clone();
    let fx = fx.restart().await;
    let token = app_token(&fx).await;
    // A restarted test sandbox listens on another port; the link is otherwise the stored one.
    let delta_link = delta_link.replace(&old_base, &fx.info().graph_base);
    let (changes, _, _) = delta_round(&fx, &token, &delta_link, None).await;
    let subjects: Vec<&str> = changes
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, vec!["Kept", "Changed before restart"]);
    assert_eq!(changes[0]["id"], added["message"]["id"]);
    assert_eq!(changes[0]["receivedDateTime"], "2026-11-20T08:30:00Z");
    assert_eq!(all_messages(&fx, &token, &user).await.len(), 58);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = fx.dir.path().join("state/mailboxes.json");
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn bad_mail_requests_are_refused_and_change_nothing() {
    let fx = Fixture::start().await;
    let token = app_token(&fx).await;
    let user = fx.plain_user();
    let (first, _, delta_link) = delta_round(&fx, &token, &delta_start(&fx, &user), None).await;
    let id = first[0]["id"].as_str().unwrap();

    let refused = [
        (
            json!({"user": "nobody@sandbox.onmicrosoft.com", "subject": "s", "sender": "a@b.example", "body": "b"}),
            "unknown_user",
        ),
        (
            json!({"user": user, "subject": "s", "sender": "not an address", "body": "b"}),
            "invalid_sender",
        ),
        (
            json!({"user": user, "subject": "s", "sender": {"name": "x", "address": "x@"}, "body": "b"}),
            "invalid_sender",
        ),
        (
            json!({"user": user, "subject": "s", "body": "b"}),
            "invalid_request",
        ),
        (
            json!({"user": user, "subject": "s", "sender": "a@b.example", "body": "b", "colour": "red"}),
            "invalid_request",
        ),
        (
            json!({"user": user, "subject": "s", "sender": "a@b.example", "body": "b", "received": "today"}),
            "invalid_request",
        ),
    ];
    for (body, kind) in refused {
        let (status, answer) = fx.control("/mail", body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(kind)),
            "{body}"
        );
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    for (body, kind) in [
        (json!({}), "invalid_request"),
        (json!({"sender": "nope"}), "invalid_sender"),
        (json!({"subject": 7}), "invalid_request"),
    ] {
        let (status, answer) = change(&fx, id, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(kind)),
            "{body}"
        );
    }
    let (status, answer) = change(&fx, "AAAAnotAmessageId", json!({"subject": "x"})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_message"))
    );

    let (changes, _, _) = delta_round(&fx, &token, &delta_link, None).await;
    assert!(changes.is_empty(), "{changes:?}");
    assert!(!fx.dir.path().join("state/mailboxes.json").exists());
    let (status, _) = get_status(
        &fx,
        &format!("{}?$deltatoken=s99", delta_start(&fx, &user)),
        &token,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a delta token from the future is refused"
    );
}

async fn get_status(fx: &Fixture, url: &str, token: &str) -> (StatusCode, Value) {
    let response = fx.http.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
