//! The one rule every portal cookie is made by. When the portal is reached over HTTPS (served
//! with TLS here, or behind a TLS-terminating proxy with `secure_cookies` on), a cookie is
//! `Secure` and its name carries the `__Host-` prefix: browsers then refuse it unless it came
//! over HTTPS, from this exact host, for path `/`, so a sibling subdomain or a plain-HTTP
//! network attacker cannot plant or overwrite it. Every cookie is `HttpOnly` and
//! `SameSite=Strict`.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

/// The name a cookie called `base` is sent under.
pub fn cookie_name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// A portal cookie holding `value`, made by the rule above.
pub fn portal_cookie(base: &str, value: String, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::new(cookie_name(base, secure), value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_secure(secure);
    // `__Host-` requires path `/` and no Domain attribute; the same for every cookie keeps
    // one shape whatever `secure` is.
    cookie.set_path("/");
    cookie
}

/// The cookie that removes `base` from the browser.
pub fn removal_cookie(base: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = portal_cookie(base, String::new(), secure);
    cookie.make_removal();
    cookie
}

/// The value of the portal cookie `base`, read under the name the rule gives it.
pub fn cookie_value<'a>(jar: &'a CookieJar, base: &str, secure: bool) -> Option<&'a str> {
    jar.get(&cookie_name(base, secure)).map(Cookie::value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_get_the_host_prefix_and_every_attribute_it_needs() {
        let cookie = portal_cookie("tenantlink_session", "v".into(), true).to_string();
        assert_eq!(
            cookie,
            "__Host-tenantlink_session=v; HttpOnly; SameSite=Strict; Secure; Path=/"
        );
        let plain = portal_cookie("tenantlink_session", "v".into(), false).to_string();
        assert_eq!(
            plain,
            "tenantlink_session=v; HttpOnly; SameSite=Strict; Path=/"
        );
        let removal = removal_cookie("tenantlink_session", true).to_string();
        assert!(
            removal.starts_with("__Host-tenantlink_session=;"),
            "{removal}"
        );
        assert!(removal.contains("Max-Age=0"), "{removal}");
    }
}
