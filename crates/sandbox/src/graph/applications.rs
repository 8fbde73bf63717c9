//! `/applications/{id}` and `/applications(appId='…')`: GET with `$select`, PATCH of
//! keyCredentials (replaces the collection), addKey and removeKey.

use super::filter::Filter;
use super::keycredentials::{self, KeyCredentialInput};
use super::{GraphError, GraphRequest, apply_select, proof, selected};
use crate::requestlog::Outcome;
use crate::tenants::{Application, Tenant, TenantRegistry};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// How the URL names the application, and the action after it.
#[derive(Debug)]
pub(crate) struct AppRef {
    by: AppKey,
    raw: String,
    pub action: Option<String>,
}

#[derive(Debug)]
enum AppKey {
    ObjectId(Uuid),
    AppId(Uuid),
    Unparsable,
}

impl AppRef {
    /// `applications` + `[{id}]` + `[action]`, or `applications(appId='…')` + `[action]`.
    pub(crate) fn parse(first: &str, rest: &[&str]) -> Result<Self, GraphError> {
        let bad_path =
            || GraphError::UnsupportedRequest(format!("Unsupported resource path '{first}'."));
        if first == "applications" {
            let (id, action) = match rest {
                [id] => (*id, None),
                [id, action] => (*id, Some((*action).to_owned())),
                [id, "owners", "$ref"] => (*id, Some("owners/$ref".to_owned())),
                _ => return Err(bad_path()),
            };
            return Ok(Self {
                by: Uuid::parse_str(id).map_or(AppKey::Unparsable, AppKey::ObjectId),
                raw: id.to_owned(),
                action,
            });
        }
        let inner = first
            .strip_prefix("applications(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(bad_path)?;
        let app_id = inner
            .strip_prefix("appId=")
            .map(|v| v.trim_matches('\''))
            .ok_or_else(bad_path)?;
        let action = match rest {
            [] => None,
            [action] => Some((*action).to_owned()),
            ["owners", "$ref"] => Some("owners/$ref".to_owned()),
            _ => return Err(bad_path()),
        };
        Ok(Self {
            by: Uuid::parse_str(app_id).map_or(AppKey::Unparsable, AppKey::AppId),
            raw: app_id.to_owned(),
            action,
        })
    }

    pub(super) fn find<'d>(&self, tenant: &'d Tenant) -> Result<&'d Application, GraphError> {
        let found = match self.by {
            AppKey::ObjectId(id) => tenant.applications.iter().find(|a| a.id == id),
            AppKey::AppId(id) => tenant.applications.iter().find(|a| a.app_id == id),
            AppKey::Unparsable => None,
        };
        found
            .map(|a| &**a)
            .ok_or_else(|| GraphError::NotFound(self.raw.clone()))
    }

    pub(super) fn index(&self, tenant: &Tenant) -> Result<usize, GraphError> {
        let app = self.find(tenant)?;
        Ok(tenant
            .applications
            .iter()
            .position(|a| a.id == app.id)
            .unwrap_or_default())
    }
}

pub(super) fn caller_tenant<'d>(
    request: &GraphRequest<'_>,
    registry: &'d TenantRegistry,
) -> Result<&'d Tenant, GraphError> {
    registry
        .tenant_by_id(request.caller.tenant)
        .ok_or(GraphError::InvalidToken(
            "Access token validation failure. Unknown tenant.",
        ))
}

pub(super) fn render_application(
    request: &GraphRequest<'_>,
    tenant: &Tenant,
    app: &Application,
    reveal_keys: bool,
) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#applications/$entity", request.graph_base()),
        "id": app.id.to_string(),
        "appId": app.app_id.to_string(),
        "displayName": app.display_name,
        "isFallbackPublicClient": app.public_client,
        "signInAudience": "AzureADMyOrg",
        "publisherDomain": tenant.domain,
        "keyCredentials": app.key_credentials.iter().map(|k| keycredentials::render(k, reveal_keys)).collect::<Vec<_>>(),
        "passwordCredentials": [],
        "tags": app.tags,
        "requiredResourceAccess": app.required_resource_access,
    })
}

pub(crate) fn get(request: &GraphRequest<'_>, reference: &AppRef) -> Result<Response, GraphError> {
    let select = selected(request.query);
    let reveal = select
        .as_ref()
        .is_some_and(|s| s.iter().any(|p| p.eq_ignore_ascii_case("keyCredentials")));
    request.state.read(|d| {
        let tenant = caller_tenant(request, d)?;
        let app = reference.find(tenant)?;
        if !request.caller.can_read_application(tenant, app) {
            return Err(GraphError::Forbidden);
        }
        let entity = render_application(request, tenant, app, reveal);
        Ok(Json(apply_select(entity, select.as_deref())).into_response())
    })
}

pub(crate) fn list(request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let select = selected(request.query);
    let filter = request
        .query
        .get("$filter")
        .map(|f| Filter::parse(f))
        .transpose()?;
    let matches = |app: &Application| match &filter {
        None => true,
        Some(Filter::Tag(tag)) => app.tags.iter().any(|t| t == tag),
        Some(Filter::AppId(id)) => app.app_id.to_string().eq_ignore_ascii_case(id),
        Some(Filter::DisplayName(name)) => &app.display_name == name,
    };
    request.state.read(|d| {
        let tenant = caller_tenant(request, d)?;
        let value: Vec<Value> = tenant
            .applications
            .iter()
            .filter(|a| matches(a))
            .filter(|a| request.caller.can_read_application(tenant, a))
            .map(|a| {
                let mut entity = render_application(request, tenant, a, false);
                if let Some(object) = entity.as_object_mut() {
                    object.remove("@odata.context");
                }
                apply_select(entity, select.as_deref())
            })
            .collect();
        Ok(Json(json!({
            "@odata.context": format!("{}/$metadata#applications", request.graph_base()),
            "value": value,
        }))
        .into_response())
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationPatch {
    #[serde(default)]
    key_credentials: Option<Vec<KeyCredentialInput>>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

pub(crate) fn patch(
    request: &GraphRequest<'_>,
    reference: &AppRef,
) -> Result<Response, GraphError> {
    let body: ApplicationPatch = request.json_body()?;
    if body.other.contains_key("passwordCredentials") {
        return Err(GraphError::BadRequest(
            "New password credentials must be generated using service actions.".into(),
        ));
    }
    if let Some(name) = body.other.keys().next() {
        return Err(GraphError::BadRequest(format!(
            "Property '{name}' cannot be changed in the sandbox; only keyCredentials and displayName are emulated."
        )));
    }
    let now = request.state.now();
    let max_keys = request.state.settings().max_key_credentials;
    let patched_keys = body.key_credentials.is_some();
    let object_id = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        let index = reference.index(tenant)?;
        if !request
            .caller
            .can_write_application(tenant, &tenant.applications[index])
        {
            return Err(GraphError::Forbidden);
        }
        if let Some(inputs) = body.key_credentials {
            let existing = tenant.applications[index].key_credentials.clone();
            let replaced = inputs
                .into_iter()
                .map(|input| input.into_stored(&existing, tenant, now))
                .collect::<Result<Vec<_>, _>>()?;
            check_key_count(replaced.len(), max_keys)?;
            tenant.application_mut(index).key_credentials = replaced;
        }
        if let Some(name) = body.display_name {
            tenant.application_mut(index).display_name = name;
        }
        Ok(tenant.applications[index].id)
    })?;
    if patched_keys {
        request.state.stats.key_credentials_patched(object_id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddKeyBody {
    key_credential: KeyCredentialInput,
    #[serde(default)]
    password_credential: Option<Value>,
    #[serde(default)]
    proof: Option<String>,
}

/// Graph refuses a write that makes the application object too large; the sandbox counts keys.
fn check_key_count(keys: usize, max_keys: u32) -> Result<(), GraphError> {
    if keys > usize::try_from(max_keys).unwrap_or(usize::MAX) {
        return Err(GraphError::ResourceSizeExceeded);
    }
    Ok(())
}

/// Who may roll keys: the application itself — app-only, with a token it obtained with its own
/// certificate — without any permission ("An application does not need any specific permission
/// to roll its own keys"), others as for PATCH. Delegated callers are allowed as for PATCH too,
/// although a Microsoft engineer wrote that addKey works only app-only (microsoft-graph-docs
/// #14626): UNCONFIRMED, so the lenient behaviour.
fn may_roll_keys(request: &GraphRequest<'_>, tenant: &Tenant, app: &Application) -> bool {
    request.caller.is_application(app) || request.caller.can_write_application(tenant, app)
}

pub(crate) fn add_key(
    request: &GraphRequest<'_>,
    reference: &AppRef,
) -> Result<Response, GraphError> {
    let body: AddKeyBody = request.json_body()?;
    if body
        .password_credential
        .as_ref()
        .is_some_and(|p| !p.is_null())
    {
        return Err(GraphError::BadRequest(
            "passwordCredential is only allowed with keys of type X509CertAndPassword, which the sandbox does not emulate.".into(),
        ));
    }
    let now = request.state.now();
    let max_keys = request.state.settings().max_key_credentials;
    let (object_id, added) = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        let index = reference.index(tenant)?;
        if !may_roll_keys(request, tenant, &tenant.applications[index]) {
            return Err(GraphError::Forbidden);
        }
        let proof_token = body
            .proof
            .as_deref()
            .ok_or(GraphError::MissingOrMalformed)?;
        proof::verify(proof_token, &tenant.applications[index], now)?;
        let existing = tenant.applications[index].key_credentials.clone();
        let mut input = body.key_credential;
        // A key added by addKey is always new, whatever keyId the client proposed.
        if input
            .key_id
            .is_some_and(|id| existing.iter().any(|k| k.key_id == id))
        {
            input.key_id = None;
        }
        if input.key.is_none() {
            return Err(GraphError::BadRequest(
                "The property 'key' is required for a new key credential.".into(),
            ));
        }
        let stored = input.into_stored(&existing, tenant, now)?;
        check_key_count(existing.len() + 1, max_keys)?;
        let app = tenant.application_mut(index);
        app.key_credentials.push(stored.clone());
        Ok((app.id, stored))
    })?;
    request.state.stats.key_added(object_id);
    let mut body = keycredentials::render(&added, false);
    body["@odata.context"] = Value::String(format!(
        "{}/$metadata#microsoft.graph.keyCredential",
        request.graph_base()
    ));
    let mut response = Json(body).into_response();
    response.extensions_mut().insert(Outcome("added".into()));
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveKeyBody {
    key_id: Uuid,
    #[serde(default)]
    proof: Option<String>,
}

pub(crate) fn remove_key(
    request: &GraphRequest<'_>,
    reference: &AppRef,
) -> Result<Response, GraphError> {
    let body: RemoveKeyBody = request.json_body()?;
    let now = request.state.now();
    let object_id = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        let index = reference.index(tenant)?;
        if !may_roll_keys(request, tenant, &tenant.applications[index]) {
            return Err(GraphError::Forbidden);
        }
        let proof_token = body
            .proof
            .as_deref()
            .ok_or(GraphError::MissingOrMalformed)?;
        proof::verify(proof_token, &tenant.applications[index], now)?;
        // Removing the key that signed the proof (or the last key) is allowed: Graph's docs do
        // not say it is refused (UNCONFIRMED), so the lenient behaviour. An unknown keyId is
        // Graph's 404, checked after the proof (the order Graph checks them in is UNCONFIRMED).
        let app = tenant.application_mut(index);
        let before = app.key_credentials.len();
        app.key_credentials.retain(|k| k.key_id != body.key_id);
        if app.key_credentials.len() == before {
            return Err(GraphError::NotFound(body.key_id.to_string()));
        }
        Ok(app.id)
    })?;
    request.state.stats.key_removed(object_id);
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(Outcome("removed".into()));
    Ok(response)
}
