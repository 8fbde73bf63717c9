//! The browser sign-in (authorization code with PKCE S256), beside the device sign-in of an
//! operation waiting for its sign-in: offered always, and the only way on when the tenant
//! blocks the device code flow (Conditional Access, AADSTS53003).
//!
//! Like the device code, the verifier, `state` and `nonce` live only in the memory of the
//! instance holding the operation (`SignInSecrets`): the delegated token the code buys must
//! land there too, and a restart ends operations waiting for a sign-in anyway. `state` is
//! `<operation id>.<256 random bits>`: the callback finds its operation by the id and is
//! accepted only with the whole value, once, within [`ATTEMPT_LIFETIME`].

use super::{Workflows, directory_failure, failure};
use crate::accounts::{Caller, Permission};
use crate::browser_sign_in::{AuthorizeParameters, CodeRedemption, OAuthCallback, SignInMethods};
use crate::error::{ServiceError, ServiceResult};
use crate::operation::{Operation, OperationFailure, OperationId, OperationStep};
use crate::ports::DirectoryError;
use crate::secret::SecretString;
use std::str::FromStr;
use tenantlink_entra::{AuthorizeError, Pkce, random_token};
use time::{Duration, OffsetDateTime};

/// How long a started browser sign-in waits for its callback.
pub const ATTEMPT_LIFETIME: Duration = Duration::minutes(10);

/// One browser sign-in attempt's secrets and what the page says about the methods.
#[derive(Debug, Default)]
pub(crate) struct BrowserSecrets {
    attempt: Option<Attempt>,
    pub(super) device_code_blocked: Option<OperationFailure>,
    failure: Option<OperationFailure>,
}

#[derive(Debug)]
struct Attempt {
    /// The random part of `state` (after the operation id).
    state: SecretString,
    nonce: SecretString,
    pkce: Pkce,
    redirect_uri: String,
    /// The portal session (or API caller) that started it; the callback must come with it.
    bound_to: Option<SecretString>,
    expires_at: OffsetDateTime,
}

impl BrowserSecrets {
    pub(super) fn blocked(why: Option<OperationFailure>) -> Self {
        Self {
            device_code_blocked: why,
            ..Self::default()
        }
    }
}

/// "device code sign-in is blocked in this tenant", with Entra's words.
pub(super) fn device_code_blocked(err: &DirectoryError) -> OperationFailure {
    failure(
        "device_code_blocked",
        format!(
            "Device code sign-in is blocked in this tenant (a Conditional Access policy refuses the device code flow). Entra ID said: {}",
            err.message
        ),
        "Choose \"Sign in with the browser instead\": it signs in with the authorization code flow, which the policy allows.",
    )
}

impl Workflows {
    /// Starts a browser sign-in for operation `id` (waiting for its sign-in) and returns the
    /// authority's `/authorize` URL to send the browser to. `binding` ties the attempt to the
    /// portal session (or the API caller) that starts it: the callback must bring the same. A
    /// new attempt replaces the previous one, whose `state` is then refused.
    pub async fn start_browser_sign_in(
        &self,
        caller: &Caller,
        id: OperationId,
        binding: Option<SecretString>,
    ) -> ServiceResult<String> {
        caller.require(Permission::ManageCertificates)?;
        let Some(redirect_uri) = self.redirect_uri.clone() else {
            return Err(ServiceError::Invalid {
                field: "browser_sign_in".into(),
                message: "The browser sign-in is not configured: set [http] public_url (or TENANTLINK_PUBLIC_URL) to the address browsers reach tenantlink at, and register <public URL>/oauth/callback as a redirect URI of the sign-in application.".into(),
            });
        };
        let operation = self.repository.operation(id).await?;
        if operation.step != OperationStep::AwaitingSignIn {
            return Err(ServiceError::wrong_step(
                id,
                operation.step,
                "start a browser sign-in",
            ));
        }
        if !self.holds_sign_in_secrets(id) {
            return Err(ServiceError::Conflict {
                detail: format!(
                    "Operation {id} is not waiting for a sign-in on this tenantlink instance (it restarted, or another instance holds it). Start the operation again."
                ),
            });
        }
        let organization = self.repository.organization(operation.organization).await?;
        let pkce = Pkce::generate();
        let state = random_token();
        let nonce = random_token();
        let url = self.directory.browser_sign_in_url(
            &organization,
            &AuthorizeParameters {
                redirect_uri: redirect_uri.to_string(),
                state: SecretString::new(format!("{id}.{}", state.expose())),
                nonce: nonce.clone(),
                code_challenge: pkce.challenge(),
                purpose: crate::ports::SignInPurpose::of(operation.kind),
            },
        )?;
        let now = self.now();
        let mut sign_ins = self.lock_sign_ins();
        let Some(secrets) = sign_ins.get_mut(&id) else {
            return Err(ServiceError::Conflict {
                detail: format!(
                    "Operation {id} ended while the browser sign-in was being prepared."
                ),
            });
        };
        secrets.browser.failure = None;
        secrets.browser.attempt = Some(Attempt {
            state,
            nonce,
            pkce,
            redirect_uri: redirect_uri.to_string(),
            bound_to: binding,
            expires_at: now + ATTEMPT_LIFETIME,
        });
        Ok(url)
    }

    /// What `/oauth/callback` received. A `state` that is missing, unknown, not the current
    /// attempt's, or brought by another session is refused and changes nothing. Otherwise the
    /// attempt is used up: an `/authorize` error or a refused code ends that attempt (the
    /// operation keeps waiting, the page explains it), a code redeemed with a matching nonce
    /// signs the operation in exactly as a completed device sign-in does.
    pub async fn complete_browser_sign_in(
        &self,
        callback: OAuthCallback,
        binding: Option<&SecretString>,
    ) -> ServiceResult<Operation> {
        let (id, random) = parse_state(callback.state.as_deref())?;
        let operation = self
            .repository
            .operation(id)
            .await
            .map_err(|_| unknown_state())?;
        let attempt = self.take_attempt(id, random, binding)?;
        if operation.step != OperationStep::AwaitingSignIn {
            return Err(ServiceError::wrong_step(
                id,
                operation.step,
                "complete a browser sign-in",
            ));
        }
        if attempt.expires_at <= self.now() {
            return self.end_attempt(operation, failure("browser_sign_in_expired", "The browser sign-in took longer than 10 minutes and was not accepted.", "Choose \"Sign in with the browser instead\" again and finish the sign-in promptly."));
        }
        if let Some(error) = callback.error.as_deref() {
            let error = AuthorizeError::parse(error, callback.error_description.as_deref());
            return self.end_attempt(operation, authorize_failure(&error));
        }
        let Some(code) = callback.code else {
            return Err(ServiceError::Invalid {
                field: "code".into(),
                message: "The sign-in callback carried neither a code nor an error.".into(),
            });
        };
        let organization = self.repository.organization(operation.organization).await?;
        let redemption = CodeRedemption {
            code,
            verifier: attempt.pkce.verifier().clone(),
            redirect_uri: attempt.redirect_uri.clone(),
            purpose: crate::ports::SignInPurpose::of(operation.kind),
        };
        let signed_in = match self
            .directory
            .redeem_browser_sign_in(&organization, &redemption)
            .await
        {
            Ok(signed_in) => signed_in,
            Err(err) => return self.end_attempt(operation, directory_failure(&err)),
        };
        if let Some(nonce) = signed_in.nonce.as_deref()
            && nonce != attempt.nonce.expose()
        {
            // The token was issued for another sign-in (a code injected into this callback).
            return self.end_attempt(operation, failure("nonce_mismatch", "The browser sign-in's id token was issued for another sign-in request (its nonce does not match), so it was not used.", "Choose \"Sign in with the browser instead\" again, from this operation's page."));
        }
        // The device poll (if any) stops on its own: the operation is no longer waiting.
        if let Some(secrets) = self.lock_sign_ins().get_mut(&id) {
            secrets.device_code = None;
        }
        self.record_signed_in(operation, &organization, signed_in.token, signed_in.account)
            .await
    }

    /// The sign-in methods of operation `id` as this instance knows them.
    pub async fn sign_in_methods(
        &self,
        caller: &Caller,
        id: OperationId,
    ) -> ServiceResult<SignInMethods> {
        caller.require(Permission::View)?;
        Ok(self
            .lock_sign_ins()
            .get(&id)
            .map(|secrets| SignInMethods {
                device_code_blocked: secrets.browser.device_code_blocked.clone(),
                browser_pending: secrets.browser.attempt.is_some(),
                browser_failure: secrets.browser.failure.clone(),
            })
            .unwrap_or_default())
    }

    /// The attempt whose `state` this is, taken out (so it is used once). Nothing changes when
    /// it is not the current attempt's or comes from another session.
    fn take_attempt(
        &self,
        id: OperationId,
        random: &str,
        binding: Option<&SecretString>,
    ) -> ServiceResult<Attempt> {
        let mut sign_ins = self.lock_sign_ins();
        let secrets = sign_ins.get_mut(&id).ok_or_else(unknown_state)?;
        let attempt = secrets.browser.attempt.as_ref().ok_or_else(unknown_state)?;
        if !same(attempt.state.expose(), random) {
            return Err(ServiceError::Invalid {
                field: "state".into(),
                message: "The sign-in callback's state does not match the browser sign-in this operation started (an older attempt, or a forged link). Nothing was changed.".into(),
            });
        }
        if let Some(bound) = &attempt.bound_to
            && !binding.is_some_and(|given| same(bound.expose(), given.expose()))
        {
            return Err(ServiceError::Invalid {
                field: "state".into(),
                message: "The sign-in callback came to a browser other than the one that started this browser sign-in. Nothing was changed; finish the sign-in in the browser that started it.".into(),
            });
        }
        Ok(secrets.browser.attempt.take().expect("checked just above"))
    }

    /// Ends one browser sign-in attempt: recorded for the page, the operation keeps waiting.
    fn end_attempt(&self, operation: Operation, why: OperationFailure) -> ServiceResult<Operation> {
        tracing::warn!(operation = %operation.id, code = %why.code, "browser sign-in attempt ended without signing in");
        if let Some(secrets) = self.lock_sign_ins().get_mut(&operation.id) {
            secrets.browser.failure = Some(why);
        }
        Ok(operation)
    }
}

fn parse_state(state: Option<&str>) -> ServiceResult<(OperationId, &str)> {
    let state = state.filter(|s| !s.is_empty()).ok_or_else(|| ServiceError::Invalid {
        field: "state".into(),
        message: "The sign-in callback carried no state, so it cannot belong to a sign-in tenantlink started. Nothing was changed.".into(),
    })?;
    let (id, random) = state.split_once('.').ok_or_else(unknown_state)?;
    let id = OperationId::from_str(id).map_err(|_| unknown_state())?;
    Ok((id, random))
}

fn unknown_state() -> ServiceError {
    ServiceError::Invalid {
        field: "state".into(),
        message: "The sign-in callback's state belongs to no browser sign-in waiting here (already used, replaced by a newer attempt, or the service restarted). Nothing was changed.".into(),
    }
}

/// Compares in time independent of where the values differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn authorize_failure(error: &AuthorizeError) -> OperationFailure {
    use tenantlink_entra::AuthorizeErrorKind as Kind;
    let remediation = match error.kind {
        Kind::AccessDenied => {
            "Choose \"Sign in with the browser instead\" again and accept the sign-in and the permissions it asks for."
        }
        Kind::ConsentRequired => {
            "Ask a Global Administrator or Privileged Role Administrator to grant admin consent to the sign-in application (Entra admin center → Enterprise applications → Permissions), or sign in with such an account."
        }
        Kind::InteractionRequired | Kind::LoginRequired => {
            "Choose \"Sign in with the browser instead\" again and complete every step Entra ID asks for, such as multi-factor authentication."
        }
        Kind::Blocked => {
            "Ask the tenant's administrators which Conditional Access policy blocks the sign-in (Entra's message names it in the sign-in logs), or upload a certificate you attached yourself."
        }
        Kind::Other => {
            "Follow Entra's message, then choose \"Sign in with the browser instead\" again."
        }
    };
    let detail = if error.description.is_empty() {
        String::new()
    } else {
        format!(" Entra ID said: {}", error.description)
    };
    failure(
        &format!("authorize:{}", error.error),
        format!("{}{detail}", error.summary()),
        remediation,
    )
}
