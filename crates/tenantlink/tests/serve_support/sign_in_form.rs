//! The portal's sign-in form as a browser fills it: `GET /login` gives the login-CSRF cookie and
//! the form's hidden `csrf` field; `POST /login` sends both with the credentials.
#![allow(dead_code)]

/// What `GET /login` handed out: the cookie pair (`name=value`) and the hidden field's value.
#[derive(Debug, Clone)]
pub struct SignInForm {
    pub cookie: String,
    pub csrf: String,
}

impl SignInForm {
    pub async fn open(client: &reqwest::Client, base: &str) -> Self {
        let response = client
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("GET /login");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| {
                pair.split('=')
                    .next()
                    .is_some_and(|name| name.ends_with("tenantlink_login_csrf"))
            })
            .expect("the sign-in form sets its CSRF cookie")
            .to_owned();
        let page = response.text().await.expect("sign-in page");
        let csrf = hidden_csrf_field(&page).expect("the sign-in form has a csrf field");
        Self { cookie, csrf }
    }

    /// Posts `fields` plus this form's CSRF field, with its cookie.
    pub async fn post(
        &self,
        client: &reqwest::Client,
        base: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.try_post(client, base, fields)
            .await
            .expect("POST /login")
    }

    /// As [`Self::post`], but a transport error is the caller's to judge: a server that refuses
    /// an oversized body may answer and close before the client has finished sending it, and
    /// the client then sees a broken pipe instead of the status.
    pub async fn try_post(
        &self,
        client: &reqwest::Client,
        base: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Result<reqwest::Response> {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        client
            .post(format!("{base}/login"))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
    }
}

/// Opens the form and signs in through it.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    SignInForm::open(client, base)
        .await
        .post(
            client,
            base,
            &[("username", username), ("password", password)],
        )
        .await
}

pub fn hidden_csrf_field(page: &str) -> Option<String> {
    let start = page.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_owned())
}

/// The `Set-Cookie` header of the session cookie (the sign-in also clears the form's cookie).
pub fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| {
            v.split('=')
                .next()
                .is_some_and(|name| name.ends_with("tenantlink_session"))
        })
        .map(str::to_owned)
}
