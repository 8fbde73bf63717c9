use super::*;
use crate::cli::serve::config::layers::MapEnv;

const APP: &str = "11111111-2222-3333-4444-555555555555";

fn resolve(vars: &[(&'static str, &str)]) -> anyhow::Result<Option<OrganizationConfig>> {
    let env = MapEnv::of(vars);
    OrganizationConfig::resolve(
        &Layers {
            env: &env,
            file: None,
        },
        None,
    )
}

fn configured(cloud: &str) -> OrganizationConfig {
    resolve(&[
        ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
        ("TENANTLINK_APP_ID", APP),
        ("TENANTLINK_CLOUD", cloud),
    ])
    .unwrap()
    .expect("configured")
}

fn cloud(name: &str) -> Connection {
    connected(&configured(name))
}

/// The organization on its cloud with only its own settings applied.
fn connected(organization: &OrganizationConfig) -> Connection {
    organization.connection(&organization.overrides.target(organization.cloud).unwrap())
}

#[test]
fn named_clouds_resolve_to_microsofts_hosts() {
    let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    let cases = [
        (
            "global",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://graph.microsoft.com/v1.0/applications",
            "https://graph.microsoft.com",
        ),
        (
            "usgov",
            "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://graph.microsoft.us/v1.0/applications",
            "https://graph.microsoft.us",
        ),
        (
            "china",
            "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://microsoftgraph.chinacloudapi.cn/v1.0/applications",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    ];
    for (name, token, graph, resource) in cases {
        let connection = cloud(name);
        let target = &connection.target;
        assert_eq!(target.endpoints.token_endpoint(&tenant).as_str(), token);
        assert_eq!(target.endpoints.graph_url("applications").as_str(), graph);
        assert_eq!(target.graph_resource, resource, "{name}");
        assert_eq!(connection.organization.cloud.as_str(), name);
        assert_eq!(target.endpoints.extra_ca_file, None);
        assert_eq!(configured(name).overrides.overridden_by(), None);
        assert_eq!(connection.app_object_id, None, "looked up at sign-in");
    }
}

#[test]
fn the_device_sign_in_uses_the_backup_app_unless_a_public_client_is_named() {
    let connection = cloud("global");
    assert_eq!(connection.organization.app_id, APP);
    assert_eq!(
        connection.target.device_client_id, None,
        "each organization signs in with its own backup application"
    );
    let other = "99999999-2222-3333-4444-555555555555";
    let configured = resolve(&[
        ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
        ("TENANTLINK_APP_ID", APP),
        ("TENANTLINK_DEVICE_CLIENT_ID", other),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        connected(&configured).target.device_client_id.as_deref(),
        Some(other)
    );
}

#[test]
fn explicit_urls_replace_the_hosts_but_keep_the_clouds_graph_resource() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let organization = resolve(&[
        ("TENANTLINK_TENANT", "0c1e3b3e-1111-4222-8333-444455556666"),
        ("TENANTLINK_APP_ID", APP),
        ("TENANTLINK_AUTHORITY", "https://127.0.0.1:9443"),
        ("TENANTLINK_GRAPH", "https://127.0.0.1:9443/v1.0/"),
        ("TENANTLINK_CA_FILE", ca.to_str().unwrap()),
    ])
    .unwrap()
    .unwrap();
    let target = connected(&organization).target;
    assert_eq!(
        target.endpoints.graph_url("applications").as_str(),
        "https://127.0.0.1:9443/v1.0/applications"
    );
    assert_eq!(target.graph_resource, "https://graph.microsoft.com");
    assert_eq!(target.endpoints.extra_ca_file, Some(ca));
    assert_eq!(
        organization.overrides.overridden_by().as_deref(),
        Some("TENANTLINK_AUTHORITY, TENANTLINK_GRAPH, TENANTLINK_CA_FILE")
    );
}

#[test]
fn incomplete_or_invalid_organizations_are_refused_with_the_setting_named() {
    assert!(resolve(&[]).unwrap().is_none(), "nothing set: the sandbox");
    let err = |vars: &[(&'static str, &str)]| resolve(vars).unwrap_err().to_string();

    let e = err(&[("TENANTLINK_TENANT", "contoso.onmicrosoft.com")]);
    assert!(
        e.contains("app id is not") && e.contains("TENANTLINK_TENANT"),
        "{e}"
    );
    let e = err(&[("TENANTLINK_CLOUD", "usgov")]);
    assert!(
        e.starts_with("TENANTLINK_CLOUD configures an organization"),
        "{e}"
    );
    let e = err(&[
        ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
        ("TENANTLINK_APP_ID", "backup-app"),
    ]);
    assert!(
        e.contains("\"backup-app\" (TENANTLINK_APP_ID) is not a GUID"),
        "{e}"
    );
    let e = err(&[("TENANTLINK_TENANT", "contoso"), ("TENANTLINK_APP_ID", APP)]);
    assert!(e.contains("tenant \"contoso\" (TENANTLINK_TENANT)"), "{e}");
    let e = err(&[
        ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
        ("TENANTLINK_APP_ID", APP),
        ("TENANTLINK_CLOUD", "mars"),
    ]);
    assert!(
        e.contains("unknown cloud \"mars\"") && e.contains("TENANTLINK_CLOUD"),
        "{e}"
    );
    let e = err(&[
        ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
        ("TENANTLINK_APP_ID", APP),
        ("TENANTLINK_AUTHORITY", "http://login.example.com"),
    ]);
    assert!(
        e.contains("plain http") && e.contains("TENANTLINK_AUTHORITY"),
        "{e}"
    );
}
