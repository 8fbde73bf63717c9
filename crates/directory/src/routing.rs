//! The [`Directory`] the workflows get: each call goes to the directory of the organization's
//! own cloud. Transports and clients are built once per cloud at start; an organization whose
//! cloud has no directory here is refused before anything is asked of Entra or stored.

use crate::{CloudTarget, EntraDirectory};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{Cloud, TransportError};
use tenantlink_service::{
    Application, BoxFuture, DelegatedToken, DeviceCode, DeviceSignIn, Directory, DirectoryError,
    DirectoryErrorKind, Organization, SignInPoll,
};

/// The organization cloud name of the sandbox tenant.
pub const SANDBOX: &str = "sandbox";

#[derive(Debug)]
pub struct CloudDirectories {
    /// One directory per named cloud, in the order given.
    clouds: Vec<(Cloud, EntraDirectory)>,
    /// The in-process sandbox's, when it runs.
    sandbox: Option<EntraDirectory>,
}

impl CloudDirectories {
    /// A directory for every named cloud. Reads each configured CA file now, so a bad one stops
    /// the start naming it.
    pub fn new<'a>(
        clouds: impl IntoIterator<Item = (Cloud, &'a CloudTarget)>,
        clock: &SharedClock,
    ) -> Result<Self, TransportError> {
        let clouds = clouds
            .into_iter()
            .map(|(cloud, target)| Ok((cloud, EntraDirectory::for_target(target, clock.clone())?)))
            .collect::<Result<_, TransportError>>()?;
        Ok(Self {
            clouds,
            sandbox: None,
        })
    }

    /// Organizations of the `sandbox` cloud go to the in-process sandbox at `target`.
    pub fn with_sandbox(
        mut self,
        target: &CloudTarget,
        clock: &SharedClock,
    ) -> Result<Self, TransportError> {
        self.sandbox = Some(EntraDirectory::for_target(target, clock.clone())?);
        Ok(self)
    }

    /// The directory of `organization`'s cloud, or why there is none.
    pub fn route(&self, organization: &Organization) -> Result<&EntraDirectory, DirectoryError> {
        let name = organization.cloud.trim().to_ascii_lowercase();
        if name == SANDBOX {
            return self.sandbox.as_ref().ok_or_else(|| {
                unavailable(
                    organization,
                    "this tenantlink serve runs no sandbox tenant (it starts one only when no organization is configured)",
                    "Start tenantlink serve without [organization] / TENANTLINK_TENANT to use the sandbox tenant, or add the organization again with its real cloud (global, usgov or china).",
                )
            });
        }
        let cloud = Cloud::from_name(&name).ok();
        let found = cloud.and_then(|cloud| {
            self.clouds
                .iter()
                .find(|(c, _)| *c == cloud)
                .map(|(_, d)| d)
        });
        if let Some(directory) = found {
            // Which hosts an organization talks to, for an operator tracing a wrong cloud.
            tracing::debug!(organization = %organization.id, cloud = %name,
                authority = %directory.endpoints.authority(), "directory of the organization's cloud");
        }
        found.ok_or_else(|| {
            unavailable(
                organization,
                "tenantlink knows no endpoints for that cloud",
                "Add the organization again with one of the clouds global, usgov, china or sandbox.",
            )
        })
    }
}

/// "Unavailable": nothing was asked of Entra, so the workflows record nothing (a connection check
/// keeps its last answer) and no operation starts.
fn unavailable(organization: &Organization, why: &str, what_to_do: &str) -> DirectoryError {
    let message = format!(
        "The organization \"{}\" is in the cloud \"{}\", but {why}. {what_to_do}",
        organization.name, organization.cloud
    );
    DirectoryError::new(
        DirectoryErrorKind::Unavailable,
        Some("cloud_unavailable".into()),
        message,
        what_to_do,
    )
}

impl Directory for CloudDirectories {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.start_device_sign_in(organization),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.poll_device_sign_in(organization, device_code),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.application(organization, token),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.attach_certificate(organization, token, certificate),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a tenantlink_certificate::Credential,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.prove_app_only(organization, credential),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph_resource;
    use tenantlink_entra::{Endpoints, TenantId};
    use tenantlink_service::OrganizationId;

    const SANDBOX_CLIENT: &str = "99999999-2222-3333-4444-555555555555";

    fn organization(cloud: &str) -> Organization {
        Organization {
            id: OrganizationId::new(),
            name: "Contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            cloud: cloud.into(),
            app_id: "11111111-2222-3333-4444-555555555555".into(),
            app_object_id: None,
            active_certificate: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn clock() -> SharedClock {
        std::sync::Arc::new(tenantlink_clock::SystemClock)
    }

    fn token_host(directory: &EntraDirectory) -> String {
        let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        let url = directory.endpoints.token_endpoint(&tenant);
        format!("{}://{}", url.scheme(), url.authority())
    }

    /// Microsoft's hosts of every named cloud, as `serve` has them without configuration.
    fn microsoft() -> Vec<(Cloud, CloudTarget)> {
        [Cloud::Global, Cloud::UsGov, Cloud::China]
            .into_iter()
            .map(|cloud| (cloud, microsoft_target(cloud)))
            .collect()
    }

    fn microsoft_target(cloud: Cloud) -> CloudTarget {
        CloudTarget {
            endpoints: Endpoints::cloud(cloud),
            graph_resource: graph_resource(cloud),
            device_client_id: None,
        }
    }

    fn directories(clouds: &[(Cloud, CloudTarget)]) -> CloudDirectories {
        CloudDirectories::new(clouds.iter().map(|(c, t)| (*c, t)), &clock()).unwrap()
    }

    fn sandbox_target() -> CloudTarget {
        CloudTarget {
            endpoints: Endpoints::explicit("https://127.0.0.1:9443", "https://127.0.0.1:9443")
                .unwrap(),
            graph_resource: "https://graph.microsoft.com".into(),
            device_client_id: Some(SANDBOX_CLIENT.into()),
        }
    }

    #[test]
    fn each_organization_goes_to_its_own_clouds_hosts_and_graph_resource() {
        let directories = directories(&microsoft())
            .with_sandbox(&sandbox_target(), &clock())
            .unwrap();
        let cases = [
            (
                "global",
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            (
                "usgov",
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            (
                "UsGov",
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            (
                "china",
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            (
                "sandbox",
                "https://127.0.0.1:9443",
                "https://graph.microsoft.com",
            ),
        ];
        for (cloud, authority, resource) in cases {
            let routed = directories.route(&organization(cloud)).unwrap();
            assert_eq!(token_host(routed), authority, "{cloud}");
            assert_eq!(routed.graph_resource, resource, "{cloud}");
        }
        assert_eq!(
            directories
                .route(&organization("sandbox"))
                .unwrap()
                .device_client_id
                .as_deref(),
            Some(SANDBOX_CLIENT),
            "the sandbox's public client"
        );
        assert_eq!(
            directories
                .route(&organization("usgov"))
                .unwrap()
                .device_client_id,
            None,
            "the organization's own backup application"
        );
        // Built once: every call for a cloud gets the same clients.
        assert!(std::ptr::eq(
            directories.route(&organization("usgov")).unwrap(),
            directories.route(&organization("usgov")).unwrap()
        ));
    }

    #[test]
    fn an_overridden_cloud_goes_to_its_configured_endpoints_only() {
        // As `TENANTLINK_CLOUD_USGOV_AUTHORITY` and `…_GRAPH_RESOURCE` configure it.
        let mut clouds = microsoft();
        clouds[1].1 = CloudTarget {
            endpoints: Endpoints::explicit(
                "https://127.0.0.1:9555",
                Endpoints::cloud(Cloud::UsGov).graph().as_str(),
            )
            .unwrap(),
            graph_resource: "https://graph.microsoft.com".into(),
            device_client_id: None,
        };
        let directories = directories(&clouds);
        let usgov = directories.route(&organization("usgov")).unwrap();
        assert_eq!(token_host(usgov), "https://127.0.0.1:9555");
        assert_eq!(usgov.graph_resource, "https://graph.microsoft.com");
        assert_eq!(
            token_host(directories.route(&organization("global")).unwrap()),
            "https://login.microsoftonline.com"
        );
    }

    #[tokio::test]
    async fn a_cloud_without_a_directory_is_refused_before_anything_is_asked() {
        let directories = directories(&microsoft());
        let err = directories
            .start_device_sign_in(&organization("sandbox"))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind,
            DirectoryErrorKind::Unavailable,
            "nothing is recorded"
        );
        assert_eq!(err.code.as_deref(), Some("cloud_unavailable"));
        assert!(
            err.message.starts_with(
                "The organization \"Contoso\" is in the cloud \"sandbox\", but this tenantlink serve runs no sandbox tenant"
            ) && err.message.contains("add the organization again with its real cloud"),
            "{err:?}"
        );
        let err = directories.route(&organization("mars")).unwrap_err();
        assert!(
            err.message
                .contains("cloud \"mars\", but tenantlink knows no endpoints for that cloud"),
            "{err:?}"
        );
    }
}
