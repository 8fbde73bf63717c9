use super::*;
use crate::model::OrganizationId;
use crate::notices::{NoticeCertificate, NoticeId, NoticeOrganization};
use time::macros::datetime;

fn notice(event_type: EventType, name: &str) -> Notice {
    let id: OrganizationId = "00000000-0000-4000-8000-000000000007".parse().unwrap();
    Notice {
        id: NoticeId::new(),
        occurrence: "x".into(),
        event_type,
        organization: Some(id),
        occurred_at: datetime!(2027-01-17 12:00 UTC),
        data: NoticeData {
            organization: Some(NoticeOrganization {
                id,
                name: name.into(),
                tenant: "contoso.onmicrosoft.com".into(),
            }),
            certificate: Some(NoticeCertificate {
                sha1_thumbprint: "AB".repeat(20),
                not_before: datetime!(2026-11-01 12:00 UTC),
                not_after: datetime!(2027-01-31 12:00 UTC),
            }),
            threshold_days: Some(14),
            days_left: Some(14),
            reason: "The certificate ends in 14 days.".into(),
            what_to_do: Some("Rotate now <b>today</b>.".into()),
            link: "https://tl.example/organizations/00000000-0000-4000-8000-000000000007/settings/system".into(),
        },
    }
}

#[test]
fn the_webhook_body_is_the_standard_webhooks_shape() {
    let notice = notice(EventType::CertificateExpiring, "Contoso");
    let body: serde_json::Value = serde_json::from_str(&webhook_body(&notice).unwrap()).unwrap();
    assert_eq!(body["type"], "certificate.expiring");
    assert_eq!(body["timestamp"], "2027-01-17T12:00:00Z");
    assert_eq!(body["data"]["organization"]["name"], "Contoso");
    assert_eq!(
        body["data"]["certificate"]["sha1_thumbprint"],
        "AB".repeat(20)
    );
    assert_eq!(
        body["data"]["certificate"]["not_after"],
        "2027-01-31T12:00:00Z"
    );
    assert_eq!(body["data"]["threshold_days"], 14);
    assert_eq!(body["data"]["days_left"], 14);
    assert_eq!(body["data"]["what_to_do"], "Rotate now <b>today</b>.");
    assert!(
        body["data"]["link"]
            .as_str()
            .unwrap()
            .starts_with("https://tl.example/")
    );
}

#[test]
fn an_email_names_the_organization_what_when_what_to_do_and_the_link() {
    let notice = notice(EventType::CertificateExpiring, "Contoso");
    let email = email(&notice);
    assert_eq!(
        email.subject,
        "[tenantlink] The certificate of Contoso ends in 14 days"
    );
    for needed in [
        "Organization: Contoso (contoso.onmicrosoft.com)",
        "What happened: The certificate ends in 14 days.",
        "When: 2027-01-17 12:00 UTC",
        "valid from 2026-11-01 12:00 UTC until 2027-01-31 12:00 UTC",
        "What to do: Rotate now <b>today</b>.",
        "Open: https://tl.example/organizations/",
    ] {
        assert!(email.text.contains(needed), "{needed} in\n{}", email.text);
    }
    assert!(
        email.html.contains("Rotate now &lt;b&gt;today&lt;/b&gt;."),
        "{}",
        email.html
    );
    assert!(!email.html.contains("<b>today</b>"));
    assert!(email.html.contains(
        "href=\"https://tl.example/organizations/00000000-0000-4000-8000-000000000007/settings/system\""
    ));
}

#[test]
fn a_name_cannot_break_the_subject_or_the_html() {
    let notice = notice(EventType::ConnectionBroken, "Evil\r\nBcc: x@y <script>");
    let email = email(&notice);
    assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
    assert!(email.html.contains("&lt;script&gt;"));
    assert!(!email.html.contains("<script>"));
}

#[test]
fn a_digest_lists_every_notice_in_one_message() {
    let mut later = notice(EventType::ConnectionBroken, "Fabrikam");
    later.occurred_at += time::Duration::hours(1);
    let first = notice(EventType::CertificateExpiring, "Contoso");
    let digest = digest(&[later, first]);
    assert_eq!(
        digest.subject,
        "[tenantlink] Daily digest: 2 notices for 1 organization"
    );
    let contoso = digest
        .text
        .find("The certificate of Contoso ends in 14 days")
        .unwrap();
    let fabrikam = digest
        .text
        .find("The connection to Fabrikam is broken")
        .unwrap();
    assert!(contoso < fabrikam, "oldest first:\n{}", digest.text);
    assert_eq!(digest.html.matches("<h2>").count(), 2);
}

#[test]
fn every_event_type_has_its_own_headline() {
    let mut seen = std::collections::HashSet::new();
    for event_type in EventType::ALL {
        let line = headline(&notice(*event_type, "Contoso"));
        assert!(seen.insert(line.clone()), "{line} twice");
    }
}
