//! The [`Directory`] `serve` hands to the workflows: each call goes to the directory of the
//! organization's own cloud. Transports and clients are built once per cloud at start; an
//! organization whose cloud has no directory here is refused before anything is asked of Entra
//! or stored.

use super::EntraDirectory;
use crate::cli::serve::clouds::{CloudTarget, CloudsConfig};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{Cloud, Transport, TransportConfig};
use tenantlink_service::{
    Application, BoxFuture, DelegatedToken, DeviceCode, DeviceSignIn, Directory, DirectoryError,
    DirectoryErrorKind, Organization, SignInPoll,
};

/// The organization cloud name of the sandbox tenant.
pub const SANDBOX: &str = "sandbox";

#[derive(Debug)]
pub struct CloudDirectories {
    /// One directory per named cloud, in [`crate::cli::serve::clouds::NAMED_CLOUDS`] order.
    clouds: Vec<(Cloud, EntraDirectory)>,
    /// The in-process sandbox's, when it runs.
    sandbox: Option<EntraDirectory>,
}

impl CloudDirectories {
    /// A directory for every named cloud. Reads each configured CA file now, so a bad one stops
    /// the start naming it.
    pub fn new(clouds: &CloudsConfig, clock: &SharedClock) -> anyhow::Result<Self> {
        let clouds = clouds
            .targets()
            .map(|(cloud, target)| Ok((cloud, directory(target, clock)?)))
            .collect::<anyhow::Result<_>>()?;
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
    ) -> anyhow::Result<Self> {
        self.sandbox = Some(directory(target, clock)?);
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

fn directory(target: &CloudTarget, clock: &SharedClock) -> anyhow::Result<EntraDirectory> {
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: target.endpoints.extra_ca_file.clone(),
        ..TransportConfig::default()
    })
    .map_err(|e| crate::cli::serve::config_error(anyhow::anyhow!("{e}")))?;
    Ok(EntraDirectory::new(
        transport,
        target.endpoints.clone(),
        clock.clone(),
        target.device_client_id.clone(),
    )
    .with_graph_resource(&target.graph_resource))
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
    use crate::cli::serve::clouds::CloudOverride;
    use crate::cli::serve::config::Sourced;
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
            connection: tenantlink_service::ConnectionState::Unknown,
            last_error: None,
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

    fn sandbox_target() -> CloudTarget {
        CloudTarget {
            endpoints: Endpoints::explicit("https://127.0.0.1:9443", "https://127.0.0.1:9443")
                .unwrap(),
            graph_resource: "https://graph.microsoft.com".into(),
            device_client_id: Some(SANDBOX_CLIENT.into()),
            overridden_by: None,
        }
    }

    #[test]
    fn each_organization_goes_to_its_own_clouds_hosts_and_graph_resource() {
        let directories = CloudDirectories::new(&CloudsConfig::default(), &clock())
            .unwrap()
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
        let mut clouds = CloudsConfig::default();
        let target = CloudOverride {
            authority: Some(Sourced {
                value: "https://127.0.0.1:9555".into(),
                origin: "TENANTLINK_CLOUD_USGOV_AUTHORITY".into(),
            }),
            graph_resource: Some(Sourced {
                value: "https://graph.microsoft.com".into(),
                origin: "TENANTLINK_CLOUD_USGOV_GRAPH_RESOURCE".into(),
            }),
            ..CloudOverride::default()
        }
        .target(Cloud::UsGov)
        .unwrap();
        clouds.set_target(Cloud::UsGov, target);
        let directories = CloudDirectories::new(&clouds, &clock()).unwrap();
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
        let directories = CloudDirectories::new(&CloudsConfig::default(), &clock()).unwrap();
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
