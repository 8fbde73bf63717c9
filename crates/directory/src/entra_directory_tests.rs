//! What one cloud's directory answers without asking Entra; the calls that reach Entra are
//! proven against the sandbox tenant (crates/tenantlink/tests/serve_*).

use super::*;
use crate::fixtures::{self, clock};
use crate::graph_resource;
use tenantlink_entra::Cloud;

fn directory() -> EntraDirectory {
    let target = CloudTarget {
        endpoints: Endpoints::cloud(Cloud::UsGov),
        graph_resource: graph_resource(Cloud::UsGov),
        device_client_id: None,
    };
    EntraDirectory::for_target(&target, clock()).unwrap()
}

fn organization(tenant: &str) -> Organization {
    fixtures::organization(tenantlink_service::Cloud::UsGov, tenant)
}

#[test]
fn a_target_gives_the_directory_its_hosts_graph_resource_and_sign_in_client() {
    let directory = directory();
    assert_eq!(
        directory.endpoints.authority().as_str(),
        "https://login.microsoftonline.us/"
    );
    assert_eq!(directory.graph_resource, "https://graph.microsoft.us");
    assert_eq!(directory.device_client_id, None);
}

#[tokio::test]
async fn a_tenant_that_cannot_be_a_tenant_is_refused_before_anything_is_asked() {
    let err = directory()
        .start_device_sign_in(&organization("contoso tenant!"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::Other);
    assert_eq!(
        err.remediation,
        "Correct the organization's tenant id or domain."
    );
}

#[tokio::test]
async fn a_sign_in_this_directory_never_started_has_expired() {
    let unknown = DeviceCode(SecretString::new("not-a-handle"));
    let err = directory()
        .poll_device_sign_in(&organization("contoso.onmicrosoft.com"), &unknown)
        .await
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::SignInExpired);
    assert_eq!(
        err.message,
        "This sign-in is no longer known to the service."
    );
}
