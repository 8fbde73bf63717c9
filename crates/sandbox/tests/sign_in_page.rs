//! The device sign-in page, driven by real HTML form posts as a browser without JavaScript would.

mod common;

use common::Fixture;
use reqwest::StatusCode;

/// The value of `<input ... name="NAME" value="VALUE">` in a page.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn post(fx: &Fixture, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = fx.http.post(fx.url(path)).form(form).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn code_then_password_then_continue_issues_tokens() {
    let fx = Fixture::start().await;
    let flow = fx
        .start_device_flow("openid https://graph.microsoft.com/User.Read")
        .await;
    let page = fx
        .http
        .get(fx.url("/devicelogin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Enter code")
            && page.contains(r#"action="/devicelogin""#)
            && !page.contains("<script")
    );

    let typed = flow["user_code"].as_str().unwrap().to_lowercase();
    let (status, page) = post(&fx, "/devicelogin", &[("user_code", &typed)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Sign in to continue to tenantlink sign-in."),
        "{page}"
    );
    let user_code = hidden_value(&page, "user_code");

    let (status, page) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", &user_code),
            ("username", &fx.admin()),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Your account or password is incorrect."));
    let (status, page) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", &user_code),
            ("username", "ghost@sandbox.onmicrosoft.com"),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("account doesn&#39;t exist"), "{page}");

    let password = fx.password_of(&fx.admin());
    let (status, page) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", &user_code),
            ("username", &fx.admin()),
            ("password", &password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Are you trying to sign in to tenantlink sign-in?"),
        "{page}"
    );
    assert!(page.contains(r#"value="continue""#) && page.contains(r#"value="cancel""#));
    let ticket = hidden_value(&page, "ticket");

    // A forged ticket does not approve anything.
    let (status, _) = post(
        &fx,
        "/devicelogin/consent",
        &[
            ("user_code", &user_code),
            ("ticket", "forged"),
            ("action", "continue"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_pending");

    // The forged attempt consumed the sign-in; sign in again and continue.
    let (_, page) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", &user_code),
            ("username", &fx.admin()),
            ("password", &password),
        ],
    )
    .await;
    let ticket_again = hidden_value(&page, "ticket");
    assert_ne!(ticket, ticket_again);
    let (status, page) = post(
        &fx,
        "/devicelogin/consent",
        &[
            ("user_code", &user_code),
            ("ticket", &ticket_again),
            ("action", "continue"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("You have signed in to the tenantlink sign-in application on your device.")
    );
    fx.advance_clock(6).await;
    let (status, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The code is used up now.
    let (status, page) = post(&fx, "/devicelogin", &[("user_code", &user_code)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code has already been used."));
}

#[tokio::test]
async fn cancel_declines_the_flow() {
    let fx = Fixture::start().await;
    let flow = fx.start_device_flow("openid").await;
    let user_code = flow["user_code"].as_str().unwrap();
    let password = fx.password_of(&fx.plain_user());
    let (_, page) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", user_code),
            ("username", &fx.plain_user()),
            ("password", &password),
        ],
    )
    .await;
    let ticket = hidden_value(&page, "ticket");
    let (status, page) = post(
        &fx,
        "/devicelogin/consent",
        &[
            ("user_code", user_code),
            ("ticket", &ticket),
            ("action", "cancel"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You have declined to sign in"));
    let (status, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_declined"))
    );
}

#[tokio::test]
async fn unknown_and_expired_codes_are_explained() {
    let fx = Fixture::start().await;
    let (status, page) = post(&fx, "/devicelogin", &[("user_code", "ABCDEFGHJ")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code wasn&#39;t found."), "{page}");
    let flow = fx.start_device_flow("openid").await;
    fx.advance_clock(900).await;
    let (status, page) = post(
        &fx,
        "/devicelogin",
        &[("user_code", flow["user_code"].as_str().unwrap())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code has expired."));
}

/// Each `<input>` tag of a page other than hidden ones, as written.
fn visible_inputs(html: &str) -> Vec<&str> {
    html.match_indices("<input")
        .map(|(at, _)| &html[at..at + html[at..].find('>').expect("closed tag") + 1])
        .filter(|tag| !tag.contains(r#"type="hidden""#))
        .collect()
}

/// The value of `attribute="…"` in one tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let marker = format!(r#" {attribute}=""#);
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next()
}

/// Asserts that the page's visible fields are exactly `expected` (field name, label text), each
/// named by a visible `<label for>` pointing at its unique `id`, in that order.
fn assert_labelled(html: &str, expected: &[(&str, &str)]) {
    let inputs = visible_inputs(html);
    let found: Vec<(&str, &str)> = inputs
        .iter()
        .map(|tag| {
            let name = attribute(tag, "name").unwrap_or_else(|| panic!("unnamed {tag}"));
            let id = attribute(tag, "id").unwrap_or_else(|| panic!("{tag} has no id"));
            assert_eq!(
                html.matches(&format!(r#"id="{id}""#)).count(),
                1,
                "id {id} is unique: {html}"
            );
            let marker = format!(r#"<label for="{id}">"#);
            let start = html
                .find(&marker)
                .unwrap_or_else(|| panic!("no label for {id}: {html}"))
                + marker.len();
            let text = html[start..].split("</label>").next().unwrap();
            (name, text)
        })
        .collect();
    assert_eq!(found, expected, "{html}");
    assert!(
        !html.contains("placeholder="),
        "labels, not placeholders: {html}"
    );
}

#[tokio::test]
async fn every_field_has_a_visible_label_also_after_an_error() {
    let fx = Fixture::start().await;
    let code_page = fx
        .http
        .get(fx.url("/devicelogin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_labelled(&code_page, &[("user_code", "Code")]);
    let (status, refused) = post(&fx, "/devicelogin", &[("user_code", "ABCDEFGHJ")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_labelled(&refused, &[("user_code", "Code")]);

    let flow = fx.start_device_flow("openid").await;
    let user_code = flow["user_code"].as_str().unwrap();
    let (status, credentials) = post(&fx, "/devicelogin", &[("user_code", user_code)]).await;
    assert_eq!(status, StatusCode::OK);
    let fields = [("username", "Email or phone"), ("password", "Password")];
    assert_labelled(&credentials, &fields);
    let (status, wrong) = post(
        &fx,
        "/devicelogin/signin",
        &[
            ("user_code", user_code),
            ("username", &fx.admin()),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(wrong.contains("Your account or password is incorrect."));
    assert_labelled(&wrong, &fields);
    // The code travels on as a hidden field (escaped), not as a visible one.
    assert_eq!(hidden_value(&wrong, "user_code"), user_code);
}
