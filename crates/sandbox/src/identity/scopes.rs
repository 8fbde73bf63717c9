//! Scope strings: which resource they name and which Graph permissions they ask for.

use super::error::AadError;
use crate::tenants::{GRAPH_APP_ID, GRAPH_RESOURCE};

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A delegated request: Graph permissions (short names) plus the OpenID Connect scopes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DelegatedScopes {
    pub graph: Vec<String>,
    /// `https://graph.microsoft.com/.default`: every permission consented for the client.
    pub graph_default: bool,
    pub oidc: Vec<String>,
}

impl DelegatedScopes {
    pub(crate) fn wants(&self, oidc_scope: &str) -> bool {
        self.oidc.iter().any(|s| s == oidc_scope)
    }
}

/// Strips Graph's resource prefix; `None` for a scope of another resource.
fn graph_permission(scope: &str) -> Option<&str> {
    for prefix in [GRAPH_RESOURCE, GRAPH_APP_ID] {
        if let Some(rest) = scope.strip_prefix(prefix) {
            return rest.strip_prefix('/');
        }
    }
    (!scope.contains('/') && !scope.contains(':')).then_some(scope)
}

fn resource_of(scope: &str) -> &str {
    scope
        .rsplit_once('/')
        .map_or(scope, |(resource, _)| resource)
}

pub(crate) fn parse_delegated(scope: &str, tenant: &str) -> Result<DelegatedScopes, AadError> {
    let mut parsed = DelegatedScopes::default();
    for item in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&item) {
            parsed.oidc.push(item.to_owned());
            continue;
        }
        match graph_permission(item) {
            Some(".default") => parsed.graph_default = true,
            Some(permission) if !permission.is_empty() => parsed.graph.push(permission.to_owned()),
            Some(_) => return Err(AadError::InvalidScope(item.to_owned())),
            None => {
                return Err(AadError::ResourceNotFound {
                    resource: resource_of(item).to_owned(),
                    tenant: tenant.to_owned(),
                });
            }
        }
    }
    if parsed.graph.is_empty() && !parsed.graph_default && parsed.oidc.is_empty() {
        return Err(AadError::MissingParameter("scope"));
    }
    Ok(parsed)
}

/// Client credentials take exactly one `<resource>/.default` scope, and the only resource here is Graph.
pub(crate) fn check_client_credentials_scope(scope: &str, tenant: &str) -> Result<(), AadError> {
    let items: Vec<&str> = scope.split_whitespace().collect();
    let [single] = items.as_slice() else {
        return Err(AadError::InvalidScope(scope.to_owned()));
    };
    match graph_permission(single) {
        Some(".default") if single.contains('/') => Ok(()),
        Some(_) => Err(AadError::InvalidScope((*single).to_owned())),
        None => Err(AadError::ResourceNotFound {
            resource: resource_of(single).to_owned(),
            tenant: tenant.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegated_scopes_split_graph_and_oidc() {
        let parsed = parse_delegated(
            "https://graph.microsoft.com/Application.ReadWrite.All openid offline_access User.Read",
            "t",
        )
        .unwrap();
        assert_eq!(parsed.graph, vec!["Application.ReadWrite.All", "User.Read"]);
        assert!(parsed.wants("offline_access"));
        assert!(!parsed.graph_default);
    }

    #[test]
    fn other_resources_are_not_found() {
        assert!(matches!(
            parse_delegated("api://other/read", "t"),
            Err(AadError::ResourceNotFound { .. })
        ));
        assert!(matches!(
            check_client_credentials_scope("https://vault.azure.net/.default", "t"),
            Err(AadError::ResourceNotFound { .. })
        ));
    }

    #[test]
    fn client_credentials_need_exactly_graph_default() {
        assert!(
            check_client_credentials_scope("https://graph.microsoft.com/.default", "t").is_ok()
        );
        assert!(
            check_client_credentials_scope("00000003-0000-0000-c000-000000000000/.default", "t")
                .is_ok()
        );
        assert!(matches!(
            check_client_credentials_scope("https://graph.microsoft.com/User.Read", "t"),
            Err(AadError::InvalidScope(_))
        ));
        assert!(matches!(
            check_client_credentials_scope("https://graph.microsoft.com/.default openid", "t"),
            Err(AadError::InvalidScope(_))
        ));
    }
}
