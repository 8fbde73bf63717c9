//! Who may use the control API. The sandbox embedded in `tenantlink serve` moves the clock the
//! service itself reads and scripts sign-ins, so there it takes a secret: every call carries
//! `Authorization: Bearer <secret>`, the secret being published only in `sandbox.json`
//! (mode 0600, readable by the account that runs the service). The standalone
//! `tenantlink sandbox` is a development tool and keeps its control API open unless given one.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header::AUTHORIZATION};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

/// The control API's secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ControlSecret(String);

impl ControlSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// 32 random bytes, base64url: for a sandbox whose caller does not choose one.
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.as_bytes())
            .is_ok()
    }
}

impl std::fmt::Debug for ControlSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlSecret(<redacted>)")
    }
}

/// Refuses a control call without the right bearer secret (401, nothing changed).
pub(super) async fn require_secret(
    State(secret): State<ControlSecret>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(presented) if secret.matches(presented.trim()) => next.run(request).await,
        _ => super::error(
            StatusCode::UNAUTHORIZED,
            "control_secret_required",
            "this sandbox's control API needs `Authorization: Bearer <control_secret>`, the secret being in sandbox.json of its state directory",
        ),
    }
}
