use super::*;
use crate::cli::serve::config::layers::MapEnv;
use crate::cli::serve::config_file::FileConfig;
use std::path::Path;
use tenantlink_entra::TenantId;

const PUBLIC_CLIENT: &str = "99999999-2222-3333-4444-555555555555";

/// The clouds of `toml` (a configuration file at /etc/tenantlink.toml) under `vars`.
fn clouds(
    toml: &str,
    vars: &[(&'static str, &str)],
    organization: Option<(Cloud, &CloudOverride)>,
) -> anyhow::Result<CloudsConfig> {
    let file = Path::new("/etc/tenantlink.toml");
    let config = FileConfig::parse(toml, file).map_err(|e| anyhow!("{e}"))?;
    let env = MapEnv::of(vars);
    CloudsConfig::resolve(
        &Layers {
            env: &env,
            file: Some(file),
        },
        &config.clouds,
        organization,
    )
}

fn token_endpoint(target: &CloudTarget) -> String {
    let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    target.endpoints.token_endpoint(&tenant).to_string()
}

#[test]
fn without_settings_each_cloud_is_microsofts_with_its_own_graph_resource() {
    let clouds = clouds("", &[], None).unwrap();
    assert_eq!(clouds, CloudsConfig::default());
    let cases = [
        (
            Cloud::Global,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://graph.microsoft.com/v1.0/applications",
            "https://graph.microsoft.com",
        ),
        (
            Cloud::UsGov,
            "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://graph.microsoft.us/v1.0/applications",
            "https://graph.microsoft.us",
        ),
        (
            Cloud::China,
            "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "https://microsoftgraph.chinacloudapi.cn/v1.0/applications",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    ];
    for (cloud, token, graph, resource) in cases {
        let target = clouds.target(cloud);
        assert_eq!(token_endpoint(target), token);
        assert_eq!(target.endpoints.graph_url("applications").as_str(), graph);
        assert_eq!(target.graph_resource, resource, "{cloud:?}");
        assert_eq!(target.endpoints.extra_ca_file, None);
        assert_eq!(target.device_client_id, None);
        assert_eq!(clouds.overridden_by(cloud), None);
    }
}

#[test]
fn a_clouds_section_moves_only_that_cloud_and_the_environment_wins() {
    let toml = format!(
        "[clouds.usgov]\nauthority = \"https://proxy.example.internal\"\ngraph = \"https://graph-proxy.example.internal/v1.0\"\nca_file = \"proxy-ca.pem\"\ndevice_client_id = \"{PUBLIC_CLIENT}\"\n"
    );
    let clouds = clouds(&toml, &[], None).unwrap();
    let usgov = clouds.target(Cloud::UsGov);
    assert_eq!(
        token_endpoint(usgov),
        "https://proxy.example.internal/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(
        usgov.endpoints.graph_url("applications").as_str(),
        "https://graph-proxy.example.internal/v1.0/applications"
    );
    assert_eq!(
        usgov.graph_resource, "https://graph.microsoft.us",
        "scopes still name the cloud's Graph"
    );
    assert_eq!(
        usgov.endpoints.extra_ca_file.as_deref(),
        Some(Path::new("/etc/proxy-ca.pem")),
        "relative to the file"
    );
    assert_eq!(usgov.device_client_id.as_deref(), Some(PUBLIC_CLIENT));
    assert!(
        clouds
            .overridden_by(Cloud::UsGov)
            .unwrap()
            .starts_with("`clouds.usgov.authority` in /etc/tenantlink.toml"),
        "{usgov:?}"
    );
    assert_eq!(
        clouds.target(Cloud::Global),
        CloudsConfig::default().target(Cloud::Global)
    );
    assert_eq!(
        clouds.target(Cloud::China),
        CloudsConfig::default().target(Cloud::China)
    );

    let from_env = self::clouds(
        &toml,
        &[
            ("TENANTLINK_CLOUD_USGOV_AUTHORITY", "https://127.0.0.1:9443"),
            (
                "TENANTLINK_CLOUD_USGOV_GRAPH_RESOURCE",
                "https://graph.microsoft.com/",
            ),
            ("TENANTLINK_CLOUD_CHINA_GRAPH", "https://127.0.0.1:9444"),
        ],
        None,
    )
    .unwrap();
    let usgov = from_env.target(Cloud::UsGov);
    assert_eq!(
        token_endpoint(usgov),
        "https://127.0.0.1:9443/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(usgov.graph_resource, "https://graph.microsoft.com");
    assert_eq!(
        usgov.endpoints.graph_url("me").as_str(),
        "https://graph-proxy.example.internal/v1.0/me",
        "still from the file"
    );
    let china = from_env.target(Cloud::China);
    assert_eq!(
        china.endpoints.graph_url("me").as_str(),
        "https://127.0.0.1:9444/v1.0/me"
    );
    assert_eq!(
        token_endpoint(china),
        "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(
        from_env.overridden_by(Cloud::China),
        Some("TENANTLINK_CLOUD_CHINA_GRAPH")
    );
}

#[test]
fn the_configured_organizations_settings_are_its_clouds_and_may_not_repeat_one() {
    let own = CloudOverride {
        authority: Some(Sourced {
            value: "https://127.0.0.1:9443".into(),
            origin: "TENANTLINK_AUTHORITY".into(),
        }),
        ..CloudOverride::default()
    };
    let clouds = clouds(
        "[clouds.usgov]\ngraph = \"https://127.0.0.1:9443\"\n",
        &[],
        Some((Cloud::UsGov, &own)),
    )
    .unwrap();
    let usgov = clouds.target(Cloud::UsGov);
    assert_eq!(
        token_endpoint(usgov),
        "https://127.0.0.1:9443/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(
        usgov.endpoints.graph_url("me").as_str(),
        "https://127.0.0.1:9443/v1.0/me"
    );
    // Another cloud's section does not mix with the organization's.
    let global = self::clouds(
        "[clouds.usgov]\nauthority = \"https://proxy.example.internal\"\n",
        &[],
        Some((Cloud::Global, &own)),
    )
    .unwrap();
    assert_eq!(
        token_endpoint(global.target(Cloud::Global)),
        "https://127.0.0.1:9443/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );

    let e = self::clouds(
        "[clouds.usgov]\nauthority = \"https://proxy.example.internal\"\n",
        &[],
        Some((Cloud::UsGov, &own)),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "TENANTLINK_AUTHORITY and `clouds.usgov.authority` in /etc/tenantlink.toml both set"
        ) && e.contains("usgov cloud: keep one"),
        "{e}"
    );
}

#[test]
fn unknown_clouds_and_bad_values_are_refused_with_their_origin() {
    let e = clouds(
        "[clouds.mars]\nauthority = \"https://x.example\"\n",
        &[],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`clouds.mars` in /etc/tenantlink.toml: unknown cloud \"mars\": name one of global, usgov or china"),
        "{e}"
    );
    let e = clouds(
        "[clouds.sandbox]\nauthority = \"https://x.example\"\n",
        &[],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("always the in-process sandbox"), "{e}");
    let e = clouds(
        "[clouds.usgov]\nauthorty = \"https://x.example\"\n",
        &[],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("line 2, key `clouds.usgov.authorty`: unknown field"),
        "{e}"
    );
    let e = clouds(
        "",
        &[("TENANTLINK_CLOUD_CHINA_AUTHORITY", "http://proxy.example")],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("plain http") && e.contains("TENANTLINK_CLOUD_CHINA_AUTHORITY"),
        "{e}"
    );
    let e = clouds("[clouds.global]\ngraph_resource = \"graph\"\n", &[], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Graph resource \"graph\" (`clouds.global.graph_resource` in /etc/tenantlink.toml) is not an https URL"),
        "{e}"
    );
    let e = clouds(
        "",
        &[("TENANTLINK_CLOUD_USGOV_DEVICE_CLIENT_ID", "public-app")],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("\"public-app\" (TENANTLINK_CLOUD_USGOV_DEVICE_CLIENT_ID) is not a GUID"),
        "{e}"
    );
}
