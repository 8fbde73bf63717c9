//! Client for the Microsoft identity platform (Entra ID v2.0) and Microsoft Graph, as tenantlink
//! needs it: device sign-in of an administrator, app-only tokens with a certificate client
//! assertion (cached), and the app registration's `keyCredentials`.
//!
//! Knows nothing of storage or web. The real clouds and the sandbox tenant go through the same
//! code; only the [`Endpoints`] differ. All time comes from an injected clock.

pub mod assertion;
pub mod auth_code;
pub mod device;
pub mod durations;
pub mod endpoints;
pub mod error;
pub mod graph;
pub mod graph_error;
pub mod graph_setup;
pub mod observe;
pub mod proof;
pub mod retry_after;
pub mod signer;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod token;
pub mod transport;

pub use assertion::{AssertionOptions, AssertionProfile, client_assertion};
pub use auth_code::{
    AuthCodeClient, AuthorizeError, AuthorizeErrorKind, AuthorizeRequest, CodeSignIn, Pkce,
    RedeemRequest, authorize_url, code_challenge, random_token,
};
pub use device::{DelegatedSignIn, DeviceCode, DeviceFlowClient, SignedInAccount};
pub use endpoints::{Cloud, EndpointError, Endpoints, TenantId};
pub use error::{
    AadstsKind, CredentialError, DeviceFlowError, EntraError, Error, GraphError, GraphErrorKind,
    KeyRejection, KeyRejectionReason, KeyUpdateError, PolicyRestriction, parse_key_rejection,
};
pub use graph::{Application, AttachOutcome, GraphClient, KeyCredential};
pub use graph_error::codes as graph_codes;
pub use graph_setup::{
    AppRole, AppRoleAssignment, MICROSOFT_GRAPH_APP_ID, NewApplication, RegisteredApplication,
    ServicePrincipal,
};
pub use observe::{CacheLookup, CallObserver, CallRecord, Service, SharedCallObserver};
pub use proof::{PROOF_LIFETIME, ProofAudience, proof_of_possession};
pub use retry_after::{parse_retry_after, retry_after_from};
pub use signer::SigningCertificate;
pub use token::{AppToken, AppTokenRequest, CacheKey, TokenCache, TokenClient};
pub use transport::{
    EqualJitter, Idempotency, Jitter, NoJitter, RetryPolicy, Transport, TransportConfig,
    TransportError,
};
