//! `[connect]`: what "Connect an organization" registers in a tenant — the application's display
//! name and the Microsoft Graph application permissions it is given and consented
//! (docs/connect.md). Both are checked here, before any tenant sees them: a name Entra would
//! refuse, or a permission list rotation cannot live with, fails at start with its origin named,
//! not at an administrator's sign-in.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use anyhow::bail;
use tenantlink_service::ConnectSettings;

/// The longest display name accepted. Entra's documented bound for an application's
/// `displayName` is not stated in our reference; 256 characters is the lenient choice (the
/// portal's own field is shorter), and longer is surely a mistake.
pub const APPLICATION_NAME_CHARS: usize = 256;

/// Rotation (issue #12) reads the application back after `addKey`: the app-only token needs one
/// of these (docs/connect.md, "Permissions"). `OwnedBy` is the narrow one and the default.
const KEY_READING_PERMISSIONS: [&str; 2] =
    ["Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"];

pub(super) fn resolve_connect(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<ConnectSettings> {
    let defaults = ConnectSettings::default();
    let section = &file.connect;
    let display_name = match layers.pick(
        None,
        "",
        "TENANTLINK_CONNECT_APPLICATION_NAME",
        section.application_name.clone(),
        "connect.application_name",
    )? {
        Some(name) => {
            check_application_name(&name.value, &name.origin)?;
            name.value.trim().to_owned()
        }
        None => defaults.display_name,
    };
    // The environment lists them separated by commas; the file as an array of strings.
    let listed = match layers.env.var("TENANTLINK_CONNECT_PERMISSIONS") {
        Some(text) => Some((
            text.split(',').map(|p| p.trim().to_owned()).collect(),
            "TENANTLINK_CONNECT_PERMISSIONS".to_owned(),
        )),
        None => section
            .permissions
            .clone()
            .map(|listed| (listed, layers.file_origin("connect.permissions"))),
    };
    let permissions = match listed {
        Some((permissions, origin)) => {
            check_permissions(&permissions, &origin)?;
            permissions
        }
        None => defaults.permissions,
    };
    Ok(ConnectSettings {
        display_name,
        permissions,
    })
}

fn check_application_name(name: &str, origin: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the application name ({origin}) is empty: leave it out for \"tenantlink backup\"");
    }
    if name.chars().count() > APPLICATION_NAME_CHARS {
        bail!("the application name ({origin}) is longer than {APPLICATION_NAME_CHARS} characters");
    }
    if name.chars().any(char::is_control) {
        bail!("the application name ({origin}) contains a control character");
    }
    Ok(())
}

fn check_permissions(permissions: &[String], origin: &str) -> anyhow::Result<()> {
    if permissions.iter().all(|p| p.is_empty()) {
        // `""` from the environment splits into one empty name: the list is empty.
        bail!(
            "the permission list ({origin}) is empty: leave it out for the default, {}",
            ConnectSettings::default().permissions.join(", ")
        );
    }
    for (index, permission) in permissions.iter().enumerate() {
        if !is_permission_name(permission) {
            bail!(
                "{permission:?} ({origin}) is not a Microsoft Graph permission name: use names such as Mail.Read or User.Read.All, separated by commas in the environment"
            );
        }
        if permissions[..index]
            .iter()
            .any(|earlier| earlier.eq_ignore_ascii_case(permission))
        {
            bail!("{permission} is listed twice ({origin})");
        }
    }
    if !permissions.iter().any(|p| {
        KEY_READING_PERMISSIONS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(p))
    }) {
        bail!(
            "the permission list ({origin}) has neither {}: rotation reads the application's keys back with it; add Application.ReadWrite.OwnedBy",
            KEY_READING_PERMISSIONS.join(" nor ")
        );
    }
    Ok(())
}

/// Graph's permission names: dot-separated words of letters, digits and hyphens, at least two
/// (`Mail.Read`, `User-LifeCycleInfo.Read.All`).
fn is_permission_name(text: &str) -> bool {
    let words: Vec<&str> = text.split('.').collect();
    words.len() >= 2
        && words.iter().all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
