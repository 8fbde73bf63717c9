use super::*;
use crate::fixtures::{self, clock};
use crate::graph_resource;
use tenantlink_entra::{Endpoints, TenantId};
use tenantlink_service::Cloud as OrganizationCloud;

const SANDBOX_CLIENT: &str = "99999999-2222-3333-4444-555555555555";

fn organization(cloud: OrganizationCloud) -> Organization {
    fixtures::organization(cloud, "contoso.onmicrosoft.com")
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
        endpoints: Endpoints::explicit("https://127.0.0.1:9443", "https://127.0.0.1:9443").unwrap(),
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
            OrganizationCloud::Global,
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com",
        ),
        (
            OrganizationCloud::UsGov,
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us",
        ),
        (
            OrganizationCloud::China,
            "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
        (
            OrganizationCloud::Sandbox,
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
            .route(&organization(OrganizationCloud::Sandbox))
            .unwrap()
            .device_client_id
            .as_deref(),
        Some(SANDBOX_CLIENT),
        "the sandbox's public client"
    );
    assert_eq!(
        directories
            .route(&organization(OrganizationCloud::UsGov))
            .unwrap()
            .device_client_id,
        None,
        "the organization's own backup application"
    );
    // Built once: every call for a cloud gets the same clients.
    assert!(std::ptr::eq(
        directories
            .route(&organization(OrganizationCloud::UsGov))
            .unwrap(),
        directories
            .route(&organization(OrganizationCloud::UsGov))
            .unwrap()
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
    let usgov = directories
        .route(&organization(OrganizationCloud::UsGov))
        .unwrap();
    assert_eq!(token_host(usgov), "https://127.0.0.1:9555");
    assert_eq!(usgov.graph_resource, "https://graph.microsoft.com");
    assert_eq!(
        token_host(
            directories
                .route(&organization(OrganizationCloud::Global))
                .unwrap()
        ),
        "https://login.microsoftonline.com"
    );
}

#[tokio::test]
async fn a_cloud_without_a_directory_is_refused_before_anything_is_asked() {
    let directories = directories(&microsoft());
    let err = directories
        .start_device_sign_in(&organization(OrganizationCloud::Sandbox))
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
    let only_global = self::directories(&microsoft()[..1]);
    let err = only_global
        .route(&organization(OrganizationCloud::China))
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::Unavailable);
    assert!(
        err.message
            .contains("cloud \"china\", but tenantlink knows no endpoints for that cloud"),
        "{err:?}"
    );
}
