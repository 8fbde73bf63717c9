//! Entra's token-endpoint errors: one variant per condition, each knowing its OAuth `error`, its
//! AADSTS number, its HTTP status and its text (byte-for-byte where a real capture exists; see
//! `shared/reference/entra-protocol.md` §3 and `docs/sandbox.md` for the unconfirmed ones).

use crate::requestlog::Outcome;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

const CERT_CREDENTIALS_DOC: &str =
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";
const LEGACY_CERT_CREDENTIALS_DOC: &str = "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum AadError {
    #[error(
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
    )]
    TenantNotFound { tenant: String, discovery: bool },
    #[error("The request body must contain the following parameter: '{0}'.")]
    MissingParameter(&'static str),
    #[error("The app requested an unsupported grant type '{0}'.")]
    UnsupportedGrantType(String),
    #[error(
        "Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
    )]
    ApplicationNotFound { app_id: String, tenant: String },
    #[error(
        "The provided request must include a 'client_assertion' input parameter or a 'client_secret' input parameter. Public clients cannot use this grant type."
    )]
    PublicClientCannotUseClientCredentials,
    #[error("OAuth 2.0 device flow error. Authorization is pending. Continue polling.")]
    AuthorizationPending,
    #[error("OAuth 2.0 device flow error. Polling too frequently; increase the polling interval.")]
    SlowDown,
    #[error(
        "The provided value for the input parameter 'device_code' is not valid. This device code has expired."
    )]
    DeviceCodeExpired,
    #[error("The user declined to authorize the request.")]
    AuthorizationDeclined,
    #[error("The provided value for the input parameter 'device_code' is not valid.")]
    BadVerificationCode,
    #[error(
        "The provided value for the input parameter 'device_code' is not valid. This device code has already been redeemed."
    )]
    DeviceCodeRedeemed,
    #[error("The device code was issued to a different application.")]
    DeviceCodeOtherClient,
    #[error(
        "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."
    )]
    ClientCredentialsOnCommon,
    #[error(
        "The provided value for the input parameter 'scope' is not valid. The scope {0} is not valid."
    )]
    InvalidScope(String),
    #[error(
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    )]
    ResourceNotFound { resource: String, tenant: String },
    #[error(
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
    )]
    MissingClientCredential,
    #[error(
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{0}'."
    )]
    InvalidClientSecret(String),
    #[error(
        "Client assertion type '{0}' is not supported. The only supported value is 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."
    )]
    UnsupportedAssertionType(String),
    #[error("JWT token is invalid or malformed.")]
    MalformedAssertion,
    #[error(
        "The required field '{0}' is missing from the credential. Ensure that you have all the necessary parameters for the login request."
    )]
    AssertionMissingClaim(&'static str),
    #[error(
        "Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing algorithms are: '{supported}'"
    )]
    UnsupportedAlgorithm {
        alg: String,
        /// Comma-separated, as Entra lists them.
        supported: &'static str,
    },
    #[error(
        "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header."
    )]
    NoThumbprint,
    #[error(
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {LEGACY_CERT_CREDENTIALS_DOC} ."
    )]
    IssuerMismatch,
    #[error("Subject mismatches Issuer claim in the client assertion.")]
    SubjectMismatch,
    #[error(
        "Client assertion audience claim does not match Realm issuer. Expected '{expected}', found '{found}'. Review the documentation at {CERT_CREDENTIALS_DOC} ."
    )]
    AudienceMismatch { expected: String, found: String },
    #[error("Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at {CERT_CREDENTIALS_DOC} .", entra_instant(*now), entra_instant(*valid_from), entra_instant(*expires))]
    AssertionTimeRange {
        now: OffsetDateTime,
        valid_from: OffsetDateTime,
        expires: OffsetDateTime,
    },
    #[error(
        "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']"
    )]
    KeyNotFound { thumbprint: String, app_id: String },
    #[error("The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']", found_key_time(*start), found_key_time(*end))]
    KeyExpired {
        thumbprint: String,
        start: OffsetDateTime,
        end: OffsetDateTime,
        app_id: String,
    },
    #[error("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']", found_key_time(*start), found_key_time(*end))]
    BadSignature {
        thumbprint: String,
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
    #[error("RSA key size {0} is less than the minimum required 2048 bits.")]
    WeakKey(usize),
    #[error("Invalid request. Request is malformed or invalid.")]
    InvalidRefreshToken,
    #[error("The refresh token has expired due to inactivity.")]
    RefreshTokenExpired,
    #[error("Invalid request. Request is malformed or invalid.")]
    InvalidAuthorizationCode,
    #[error(
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."
    )]
    AuthorizationCodeRedeemed,
    #[error(
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."
    )]
    AuthorizationCodeExpired,
    #[error(
        "The provided value for the 'code' parameter is not valid. The code was issued to a different client."
    )]
    AuthorizationCodeOtherClient,
    #[error(
        "The reply URL specified in the request does not match the reply URL used to obtain the authorization code."
    )]
    RedirectUriMismatch,
    #[error(
        "The Code_Verifier does not match the code_challenge supplied in the authorization request."
    )]
    CodeVerifierMismatch,
    #[error("Invalid Code_Challenge_method parameter.")]
    InvalidChallengeMethod,
    #[error(
        "The provided value for the input parameter 'response_type' is not allowed for this request. Expected value: 'code'."
    )]
    UnsupportedResponseType,
    #[error(
        "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{app_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
    )]
    InvalidRedirectUri {
        redirect_uri: String,
        app_id: String,
    },
    #[error("User declined to consent to access the app.")]
    UserDeclinedConsent,
    #[error("A silent sign-in request was sent but no user is signed in.")]
    LoginRequired,
    #[error(
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
    )]
    BlockedByConditionalAccess,
    #[error(
        "The client application {app_id} is missing service principal in the tenant {tenant}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
    )]
    MissingServicePrincipal { app_id: String, tenant: String },
    #[error(
        "The user or administrator has not consented to use the application with ID '{app_id}' named '{app_name}'. Send an interactive authorization request for this user and resource."
    )]
    ConsentRequired { app_id: String, app_name: String },
}

impl AadError {
    pub(crate) fn oauth_error(&self) -> &'static str {
        use AadError::*;
        match self {
            TenantNotFound {
                discovery: true, ..
            } => "invalid_tenant",
            TenantNotFound { .. } | MissingParameter(_) | ClientCredentialsOnCommon => {
                "invalid_request"
            }
            UnsupportedGrantType(_) => "unsupported_grant_type",
            ApplicationNotFound { .. } => "unauthorized_client",
            PublicClientCannotUseClientCredentials => "invalid_client",
            AuthorizationPending => "authorization_pending",
            SlowDown => "slow_down",
            DeviceCodeExpired => "expired_token",
            AuthorizationDeclined => "authorization_declined",
            BadVerificationCode => "bad_verification_code",
            DeviceCodeRedeemed
            | DeviceCodeOtherClient
            | InvalidRefreshToken
            | RefreshTokenExpired
            | InvalidAuthorizationCode
            | AuthorizationCodeRedeemed
            | AuthorizationCodeExpired
            | AuthorizationCodeOtherClient
            | RedirectUriMismatch
            | CodeVerifierMismatch
            | BlockedByConditionalAccess => "invalid_grant",
            // At the token endpoint; `/authorize` redirects with `consent_required` instead.
            ConsentRequired { .. } => "invalid_grant",
            InvalidChallengeMethod | InvalidRedirectUri { .. } => "invalid_request",
            UnsupportedResponseType => "unsupported_response_type",
            UserDeclinedConsent => "access_denied",
            LoginRequired => "login_required",
            InvalidScope(_) => "invalid_scope",
            ResourceNotFound { .. } => "invalid_resource",
            MalformedAssertion | AssertionMissingClaim(_) | UnsupportedAssertionType(_) => {
                "invalid_request"
            }
            MissingClientCredential
            | InvalidClientSecret(_)
            | UnsupportedAlgorithm { .. }
            | NoThumbprint
            | IssuerMismatch
            | SubjectMismatch
            | AudienceMismatch { .. }
            | AssertionTimeRange { .. }
            | KeyNotFound { .. }
            | KeyExpired { .. }
            | BadSignature { .. }
            | MissingServicePrincipal { .. }
            | WeakKey(_) => "invalid_client",
        }
    }

    pub(crate) fn code(&self) -> u32 {
        use AadError::*;
        match self {
            TenantNotFound { .. } => 90002,
            MissingParameter(_) => 900144,
            UnsupportedGrantType(_) => 70003,
            ApplicationNotFound { .. } => 700016,
            PublicClientCannotUseClientCredentials => 7000218,
            AuthorizationPending | SlowDown => 70016,
            DeviceCodeExpired => 70020,
            AuthorizationDeclined => 70000,
            BadVerificationCode => 70019,
            DeviceCodeRedeemed | DeviceCodeOtherClient => 70000,
            ClientCredentialsOnCommon => 9001023,
            InvalidScope(_) => 70011,
            ResourceNotFound { .. } => 500011,
            MissingClientCredential => 7000218,
            InvalidClientSecret(_) => 7000215,
            UnsupportedAssertionType(_) => 50012,
            MalformedAssertion => 50027,
            AssertionMissingClaim(_) => 90014,
            UnsupportedAlgorithm { .. } => 5002738,
            NoThumbprint => 5002723,
            IssuerMismatch => 700021,
            SubjectMismatch => 50048,
            AudienceMismatch { .. } => 700212,
            AssertionTimeRange { .. } => 700024,
            KeyNotFound { .. } | KeyExpired { .. } | BadSignature { .. } => 700027,
            WeakKey(_) => 50032,
            MissingServicePrincipal { .. } => 7000229,
            InvalidAuthorizationCode => 9002313,
            AuthorizationCodeRedeemed => 54005,
            AuthorizationCodeExpired => 70008,
            AuthorizationCodeOtherClient | RedirectUriMismatch => 70000,
            CodeVerifierMismatch => 501481,
            InvalidChallengeMethod => 50149,
            UnsupportedResponseType => 70005,
            InvalidRedirectUri { .. } => 50011,
            UserDeclinedConsent => 65004,
            LoginRequired => 50058,
            BlockedByConditionalAccess => 53003,
            InvalidRefreshToken => 9002313,
            RefreshTokenExpired => 700082,
            ConsentRequired { .. } => 65001,
        }
    }

    /// Entra answers `invalid_client` with 401 and everything else with 400.
    pub(crate) fn status(&self) -> StatusCode {
        if self.oauth_error() == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// `AADSTS<code>: <text>` plus Entra's trace lines, as in `error_description`.
    pub(crate) fn description(&self, context: &ErrorContext) -> String {
        format!(
            "AADSTS{}: {self}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.code(),
            Uuid::new_v4(),
            context.correlation_id,
            context
                .now
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default()
        )
    }

    /// The full Entra error response: JSON body, headers, status, and the outcome for the log.
    pub(crate) fn render(&self, context: &ErrorContext) -> Response {
        let timestamp = context
            .now
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        let trace_id = Uuid::new_v4();
        let code = self.code();
        let description = format!(
            "AADSTS{code}: {self}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
            context.correlation_id
        );
        let body = json!({
            "error": self.oauth_error(),
            "error_description": description,
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id.to_string(),
            "correlation_id": context.correlation_id,
            "error_uri": format!("{}/error?code={code}", context.base_url),
        });
        let mut response = (self.status(), no_store_headers(), axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(Outcome(format!("AADSTS{code} {}", self.oauth_error())));
        response
    }
}

/// What an error response needs besides the error: the sandbox time and the flow's correlation id.
#[derive(Debug, Clone)]
pub(crate) struct ErrorContext {
    pub now: OffsetDateTime,
    pub correlation_id: String,
    pub base_url: String,
}

impl ErrorContext {
    /// MSAL sends `client-request-id` per flow; Entra echoes it as the correlation id.
    pub(crate) fn new(now: OffsetDateTime, base_url: &str, headers: &HeaderMap) -> Self {
        let correlation_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::new_v4)
            .to_string();
        Self {
            now,
            correlation_id,
            base_url: base_url.to_owned(),
        }
    }
}

/// Headers Entra puts on every token-endpoint response.
pub(crate) fn no_store_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache"),
        ),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
        (header::EXPIRES, HeaderValue::from_static("-1")),
    ]
}

/// `2024-10-02T22:05:03.6755165Z`: seven fractional digits, as in AADSTS700024.
pub(crate) fn entra_instant(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let base = at
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("{base}.{:07}Z", at.nanosecond() / 100)
}

/// `01/28/2018 16:00:00`: the `Found key 'Start=…, End=…'` format of AADSTS700027.
pub(crate) fn found_key_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[month]/[day]/[year] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}
