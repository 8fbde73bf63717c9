//! Where a notice sends its reader: the portal page that fixes what happened. Absolute when the
//! instance knows its public URL (e-mail and webhook receivers are elsewhere), else the path.

use crate::model::OrganizationId;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortalLinks {
    /// `https://tenantlink.example.com`, without a trailing slash; empty: paths only.
    base: String,
}

impl PortalLinks {
    /// `public_url` as configured (`[http] public_url`); a trailing slash is dropped.
    pub fn new(public_url: Option<&str>) -> Self {
        Self {
            base: public_url
                .unwrap_or_default()
                .trim()
                .trim_end_matches('/')
                .to_owned(),
        }
    }

    /// The organization page: its connection, backups and banners (`/organizations/{id}`).
    pub fn organization(&self, id: OrganizationId) -> String {
        format!("{}/organizations/{id}", self.base)
    }

    /// The certificate page, where Generate, Upload and Rotate now are
    /// (`/organizations/{id}/settings/system`).
    pub fn certificate(&self, id: OrganizationId) -> String {
        format!("{}/organizations/{id}/settings/system", self.base)
    }

    /// The notice settings (webhooks, recipients), for the test event (`/notices`).
    pub fn notice_settings(&self) -> String {
        format!("{}/notices", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_absolute_with_a_public_url_and_paths_without() {
        let id: OrganizationId = "00000000-0000-4000-8000-000000000001".parse().unwrap();
        let absolute = PortalLinks::new(Some("https://tl.example.com/"));
        assert_eq!(
            absolute.organization(id),
            "https://tl.example.com/organizations/00000000-0000-4000-8000-000000000001"
        );
        assert_eq!(
            absolute.certificate(id),
            "https://tl.example.com/organizations/00000000-0000-4000-8000-000000000001/settings/system"
        );
        assert_eq!(
            PortalLinks::new(None).organization(id),
            "/organizations/00000000-0000-4000-8000-000000000001"
        );
    }
}
