use crate::cli::serve::config::testing::resolve_with;
use tenantlink_service::ConnectSettings;

fn resolve(file: Option<&str>, vars: &[(&'static str, &str)]) -> anyhow::Result<ConnectSettings> {
    resolve_with(file, &[], vars).map(|c| c.connect)
}

fn refusal(file: Option<&str>, vars: &[(&'static str, &str)]) -> String {
    format!("{:#}", resolve(file, vars).unwrap_err())
}

#[test]
fn without_settings_connect_registers_tenantlink_backup_with_the_three_default_permissions() {
    let settings = resolve(None, &[]).unwrap();
    assert_eq!(settings.display_name, "tenantlink backup");
    assert_eq!(
        settings.permissions,
        [
            "User.Read.All",
            "Mail.Read",
            "Application.ReadWrite.OwnedBy"
        ]
    );
}

#[test]
fn connect_settings_come_from_the_file_and_the_environment_wins() {
    let file = "[connect]\napplication_name = \"  Contoso backup  \"\npermissions = [\"Mail.Read\", \"Files.Read.All\", \"Application.ReadWrite.OwnedBy\"]\n";
    let from_file = resolve(Some(file), &[]).unwrap();
    assert_eq!(
        from_file,
        ConnectSettings {
            display_name: "Contoso backup".into(),
            permissions: vec![
                "Mail.Read".into(),
                "Files.Read.All".into(),
                "Application.ReadWrite.OwnedBy".into()
            ],
        }
    );
    let overridden = resolve(
        Some(file),
        &[
            ("TENANTLINK_CONNECT_APPLICATION_NAME", "Fabrikam backup"),
            (
                "TENANTLINK_CONNECT_PERMISSIONS",
                "User.Read.All, Application.ReadWrite.All",
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        overridden,
        ConnectSettings {
            display_name: "Fabrikam backup".into(),
            permissions: vec!["User.Read.All".into(), "Application.ReadWrite.All".into()],
        }
    );
}

#[test]
fn a_bad_application_name_is_refused_naming_its_origin() {
    for (name, expected) in [
        ("   ", "(TENANTLINK_CONNECT_APPLICATION_NAME) is empty"),
        (
            &"x".repeat(257),
            "(TENANTLINK_CONNECT_APPLICATION_NAME) is longer than 256 characters",
        ),
        (
            "backup\nnew line",
            "(TENANTLINK_CONNECT_APPLICATION_NAME) contains a control character",
        ),
    ] {
        let message = refusal(None, &[("TENANTLINK_CONNECT_APPLICATION_NAME", name)]);
        assert!(message.contains(expected), "{message}");
    }
    let message = refusal(Some("[connect]\napplication_name = \"\"\n"), &[]);
    assert!(
        message.contains("(`connect.application_name` in ") && message.contains("is empty"),
        "{message}"
    );
}

#[test]
fn a_bad_permission_list_is_refused_saying_what_to_change() {
    for (listed, expected) in [
        (
            "",
            "(TENANTLINK_CONNECT_PERMISSIONS) is empty: leave it out for the default, User.Read.All, Mail.Read, Application.ReadWrite.OwnedBy",
        ),
        (
            "Mail.Read;Application.ReadWrite.OwnedBy",
            "\"Mail.Read;Application.ReadWrite.OwnedBy\" (TENANTLINK_CONNECT_PERMISSIONS) is not a Microsoft Graph permission name",
        ),
        (
            "Mail.Read,,Application.ReadWrite.OwnedBy",
            "\"\" (TENANTLINK_CONNECT_PERMISSIONS) is not a Microsoft Graph permission name",
        ),
        (
            "Mail.Read,mail.read,Application.ReadWrite.OwnedBy",
            "mail.read is listed twice (TENANTLINK_CONNECT_PERMISSIONS)",
        ),
        (
            "Mail.Read,User.Read.All",
            "has neither Application.ReadWrite.OwnedBy nor Application.ReadWrite.All: rotation reads the application's keys back with it",
        ),
    ] {
        let message = refusal(None, &[("TENANTLINK_CONNECT_PERMISSIONS", listed)]);
        assert!(message.contains(expected), "{listed:?}: {message}");
    }
    let message = refusal(Some("[connect]\npermissions = [\"Mail\"]\n"), &[]);
    assert!(
        message.contains("\"Mail\" (`connect.permissions` in "),
        "{message}"
    );
    let message = refusal(Some("[connect]\nname = \"x\"\n"), &[]);
    assert!(message.contains("unknown field `name`"), "{message}");
}

#[test]
fn hyphenated_graph_permission_names_are_accepted() {
    let settings = resolve(
        None,
        &[(
            "TENANTLINK_CONNECT_PERMISSIONS",
            "User-LifeCycleInfo.Read.All,Application.ReadWrite.OwnedBy",
        )],
    )
    .unwrap();
    assert_eq!(settings.permissions[0], "User-LifeCycleInfo.Read.All");
}
