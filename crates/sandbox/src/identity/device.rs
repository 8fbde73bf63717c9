//! The device authorization grant (RFC 8628) as Entra runs it: 9-character user codes, 900 s
//! lifetime, 5 s interval, `slow_down` for impatient pollers, single-use device codes.

use super::error::{AadError, ErrorContext, no_store_headers};
use super::scopes::{DelegatedScopes, parse_delegated};
use super::{TenantScope, find_application, resolve_tenant};
use crate::secrets::{opaque_token, random_bytes};
use crate::state::{SharedState, lock};
use crate::tenants::principals::DeviceCodeBlockPoint;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub(crate) const EXPIRES_IN_SECONDS: i64 = 900;
pub(crate) const INTERVAL_SECONDS: i64 = 5;
/// Upper-case letters and digits without the look-alikes 0/O and 1/I: 32 symbols.
const USER_CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

#[derive(Debug, Default)]
pub(crate) struct DeviceFlows {
    by_device_code: HashMap<String, DeviceFlow>,
}

#[derive(Debug, Clone)]
pub(crate) struct DeviceFlow {
    pub user_code: String,
    pub client_id: Uuid,
    pub client_name: String,
    pub tenant: TenantScope,
    pub scopes: DelegatedScopes,
    pub expires_at: OffsetDateTime,
    last_poll: Option<OffsetDateTime>,
    pub state: DeviceState,
    /// Set by the sign-in page once the password checked out; the consent form must present it.
    pub signed_in: Option<PageSignIn>,
}

/// A user who passed the password step of the sign-in page and has yet to answer the consent question.
#[derive(Debug, Clone)]
pub(crate) struct PageSignIn {
    pub ticket: String,
    pub tenant: Uuid,
    pub user: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceState {
    Pending,
    Approved {
        tenant: Uuid,
        user: Uuid,
    },
    Declined,
    /// The user signed in to a tenant whose Conditional Access blocks the device code flow.
    Blocked,
    Redeemed,
}

/// A device flow the user approved, ready to be turned into tokens.
#[derive(Debug, Clone)]
pub(crate) struct ApprovedFlow {
    pub tenant: Uuid,
    pub user: Uuid,
    pub scopes: DelegatedScopes,
}

/// Why a sign-in (page or control API) cannot act on a user code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum SignInError {
    #[error("That code wasn't found. Check the code and try again.")]
    UnknownCode,
    #[error("That code has expired. Go back to the device or application and request a new code.")]
    CodeExpired,
    #[error("That code has already been used.")]
    CodeAlreadyUsed,
    #[error("This username may be incorrect or the account doesn't exist in this organization.")]
    UnknownUser,
    #[error("Your account or password is incorrect.")]
    WrongPassword,
    /// Entra's page after a Conditional Access block (azure-cli#32420).
    #[error(
        "You don't have access to this. Your sign-in was successful but does not meet the criteria to access this resource. For example, you might be signing in from a browser, app, location, or an authentication flow that is restricted by your admin. Error Code: 53003"
    )]
    BlockedByConditionalAccess,
}

impl SignInError {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::UnknownCode => "unknown_code",
            Self::CodeExpired => "code_expired",
            Self::CodeAlreadyUsed => "code_already_used",
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::BlockedByConditionalAccess => "blocked_by_conditional_access",
        }
    }
}

impl DeviceFlows {
    pub(crate) fn start(
        &mut self,
        client_id: Uuid,
        client_name: String,
        tenant: TenantScope,
        scopes: DelegatedScopes,
        now: OffsetDateTime,
    ) -> (String, String) {
        self.by_device_code
            .retain(|_, flow| flow.expires_at + Duration::hours(1) > now);
        let device_code = opaque_token();
        let user_code = loop {
            let code: String = random_bytes::<9>()
                .iter()
                .map(|b| USER_CODE_ALPHABET[(*b & 31) as usize] as char)
                .collect();
            if self.by_user_code(&code).is_none() {
                break code;
            }
        };
        self.by_device_code.insert(
            device_code.clone(),
            DeviceFlow {
                user_code: user_code.clone(),
                client_id,
                client_name,
                tenant,
                scopes,
                expires_at: now + Duration::seconds(EXPIRES_IN_SECONDS),
                last_poll: None,
                state: DeviceState::Pending,
                signed_in: None,
            },
        );
        (device_code, user_code)
    }

    /// One poll of the token endpoint.
    pub(crate) fn poll(
        &mut self,
        device_code: &str,
        client_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<ApprovedFlow, AadError> {
        let flow = self
            .by_device_code
            .get_mut(device_code)
            .ok_or(AadError::BadVerificationCode)?;
        if flow.client_id != client_id {
            return Err(AadError::DeviceCodeOtherClient);
        }
        let previous_poll = flow.last_poll.replace(now);
        match flow.state {
            DeviceState::Redeemed => Err(AadError::DeviceCodeRedeemed),
            _ if now >= flow.expires_at => Err(AadError::DeviceCodeExpired),
            DeviceState::Declined => Err(AadError::AuthorizationDeclined),
            DeviceState::Blocked => Err(AadError::BlockedByConditionalAccess),
            DeviceState::Pending => match previous_poll {
                Some(previous) if now - previous < Duration::seconds(INTERVAL_SECONDS) => {
                    Err(AadError::SlowDown)
                }
                _ => Err(AadError::AuthorizationPending),
            },
            DeviceState::Approved { tenant, user } => {
                flow.state = DeviceState::Redeemed;
                Ok(ApprovedFlow {
                    tenant,
                    user,
                    scopes: flow.scopes.clone(),
                })
            }
        }
    }

    fn by_user_code(&self, user_code: &str) -> Option<&DeviceFlow> {
        self.by_device_code
            .values()
            .find(|f| f.user_code == user_code)
    }

    /// The pending flow a user typed the code of (case and spaces forgiven).
    pub(crate) fn pending(
        &mut self,
        user_code: &str,
        now: OffsetDateTime,
    ) -> Result<&mut DeviceFlow, SignInError> {
        let normalized: String = user_code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let flow = self
            .by_device_code
            .values_mut()
            .find(|f| f.user_code == normalized)
            .ok_or(SignInError::UnknownCode)?;
        if now >= flow.expires_at {
            return Err(SignInError::CodeExpired);
        }
        if flow.state != DeviceState::Pending {
            return Err(SignInError::CodeAlreadyUsed);
        }
        Ok(flow)
    }
}

/// Sign-in decisions shared by the HTML page and the control API.
pub(crate) mod sign_in {
    use super::*;
    use crate::tenants::TenantRegistry;

    /// Checks the code and that `username` may sign in to it; returns (tenant, user).
    pub(crate) fn resolve_user(
        registry: &TenantRegistry,
        flow: &DeviceFlow,
        username: &str,
    ) -> Result<(Uuid, Uuid), SignInError> {
        registry
            .tenants
            .iter()
            .filter(|t| match flow.tenant {
                TenantScope::Specific(id) => t.id == id,
                TenantScope::Any => true,
            })
            .find_map(|t| t.user_by_upn(username.trim()).map(|u| (t.id, u.id)))
            .ok_or(SignInError::UnknownUser)
    }

    pub(crate) fn approve(
        state: &SharedState,
        user_code: &str,
        username: &str,
    ) -> Result<(), SignInError> {
        let now = state.now();
        let mut flows = lock(&state.devices);
        let flow = flows.pending(user_code, now)?;
        let (tenant, user) = state.read(|d| resolve_user(d, flow, username))?;
        complete(state, flow, tenant, user)
    }

    /// The user signed in: approved, unless their tenant's Conditional Access blocks the device
    /// code flow — then the flow ends blocked and the next poll answers AADSTS53003.
    pub(crate) fn complete(
        state: &SharedState,
        flow: &mut DeviceFlow,
        tenant: Uuid,
        user: Uuid,
    ) -> Result<(), SignInError> {
        let blocked = state.read(|d| {
            d.tenant_by_id(tenant)
                .is_some_and(|t| t.access.block_device_code_flow)
        });
        if blocked {
            flow.state = DeviceState::Blocked;
            return Err(SignInError::BlockedByConditionalAccess);
        }
        flow.state = DeviceState::Approved { tenant, user };
        Ok(())
    }

    pub(crate) fn decline(state: &SharedState, user_code: &str) -> Result<(), SignInError> {
        let now = state.now();
        let mut flows = lock(&state.devices);
        flows.pending(user_code, now)?.state = DeviceState::Declined;
        Ok(())
    }
}

pub(crate) async fn devicecode(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let context = ErrorContext::new(state.now(), &state.base_url, &headers);
    match start_flow(&state, &tenant, &params) {
        Ok(body) => (no_store_headers(), Json(body)).into_response(),
        Err(err) => err.render(&context),
    }
}

fn start_flow(
    state: &SharedState,
    tenant: &str,
    params: &HashMap<String, String>,
) -> Result<serde_json::Value, AadError> {
    let client_id = params
        .get("client_id")
        .ok_or(AadError::MissingParameter("client_id"))?;
    let scope = params
        .get("scope")
        .ok_or(AadError::MissingParameter("scope"))?;
    let (scope_of_tenant, client, client_name) = state.read(|d| {
        let resolved = resolve_tenant(d, tenant).ok_or_else(|| AadError::TenantNotFound {
            tenant: tenant.to_owned(),
            discovery: false,
        })?;
        let (_, app) = find_application(d, resolved, client_id).ok_or_else(|| {
            AadError::ApplicationNotFound {
                app_id: client_id.clone(),
                tenant: tenant.to_owned(),
            }
        })?;
        Ok::<_, AadError>((resolved, app.app_id, app.display_name.clone()))
    })?;
    let scopes = parse_delegated(scope, tenant)?;
    if let TenantScope::Specific(id) = scope_of_tenant
        && state.read(|d| {
            d.tenant_by_id(id).is_some_and(|t| {
                t.access.block_device_code_flow
                    && t.access.device_code_block_at == DeviceCodeBlockPoint::Request
            })
        })
    {
        return Err(AadError::BlockedByConditionalAccess);
    }
    let now = state.now();
    let (device_code, user_code) =
        lock(&state.devices).start(client, client_name, scope_of_tenant, scopes, now);
    let verification_uri = format!("{}/devicelogin", state.base_url);
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": EXPIRES_IN_SECONDS,
        "interval": INTERVAL_SECONDS,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn flows_with_one(now: OffsetDateTime) -> (DeviceFlows, String, String, Uuid) {
        let mut flows = DeviceFlows::default();
        let client = Uuid::new_v4();
        let (device, user) = flows.start(
            client,
            "app".into(),
            TenantScope::Any,
            DelegatedScopes::default(),
            now,
        );
        (flows, device, user, client)
    }

    #[test]
    fn user_codes_are_nine_unambiguous_characters() {
        let (_, _, user_code, _) = flows_with_one(datetime!(2026-01-01 0:00 UTC));
        assert_eq!(user_code.len(), 9);
        assert!(user_code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
    }

    #[test]
    fn polling_faster_than_the_interval_gets_slow_down() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let (mut flows, device, _, client) = flows_with_one(now);
        assert_eq!(
            flows.poll(&device, client, now).unwrap_err(),
            AadError::AuthorizationPending
        );
        assert_eq!(
            flows
                .poll(&device, client, now + Duration::seconds(2))
                .unwrap_err(),
            AadError::SlowDown
        );
        assert_eq!(
            flows
                .poll(&device, client, now + Duration::seconds(8))
                .unwrap_err(),
            AadError::AuthorizationPending
        );
    }

    #[test]
    fn approved_code_redeems_once_and_expires() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let (mut flows, device, user_code, client) = flows_with_one(now);
        let tenant = Uuid::new_v4();
        let user = Uuid::new_v4();
        flows.pending(&user_code.to_lowercase(), now).unwrap().state =
            DeviceState::Approved { tenant, user };
        let approved = flows.poll(&device, client, now).unwrap();
        assert_eq!((approved.tenant, approved.user), (tenant, user));
        assert_eq!(
            flows.poll(&device, client, now).unwrap_err(),
            AadError::DeviceCodeRedeemed
        );
        assert_eq!(
            flows.pending(&user_code, now).unwrap_err(),
            SignInError::CodeAlreadyUsed
        );

        let (mut flows, device, user_code, client) = flows_with_one(now);
        let later = now + Duration::seconds(EXPIRES_IN_SECONDS);
        assert_eq!(
            flows.poll(&device, client, later).unwrap_err(),
            AadError::DeviceCodeExpired
        );
        assert_eq!(
            flows.pending(&user_code, later).unwrap_err(),
            SignInError::CodeExpired
        );
        assert_eq!(
            flows.poll("nope", client, now).unwrap_err(),
            AadError::BadVerificationCode
        );
    }
}
