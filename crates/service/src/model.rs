//! Domain records shared by the workflows, the repository and the web front end.

use crate::assertion_profile::AssertionProfile;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

macro_rules! model_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(::uuid::Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ::uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}
pub(crate) use model_id;

model_id!(
    /// One connected Microsoft 365 tenant.
    OrganizationId
);
model_id!(
    /// One certificate credential (public part + encrypted private key) held by the service.
    CertificateId
);
model_id!(
    /// A portal account.
    UserId
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    /// Tenant GUID or `*.onmicrosoft.com` name.
    pub tenant: String,
    /// `global`, `usgov`, `china` or `sandbox`.
    pub cloud: String,
    /// The backup app registration's `appId` (client id).
    pub app_id: String,
    /// The app registration's object id, looked up through Graph at the first sign-in.
    pub app_object_id: Option<String>,
    pub active_certificate: Option<CertificateId>,
    /// Whether the organization's credential last worked (Check connection, backup runs).
    pub connection: ConnectionState,
    /// Entra's message when the connection broke; `None` unless broken.
    pub last_error: Option<String>,
    /// How its client assertions are shaped (RS256 + `x5t` unless an administrator changed it).
    pub assertion_profile: AssertionProfile,
    pub created_at: OffsetDateTime,
}

/// Whether an organization's credential last worked. Stored as text
/// (`unknown`/`connected`/`broken`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    #[default]
    Unknown,
    Connected,
    Broken,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Connected => "connected",
            Self::Broken => "broken",
        }
    }
}

impl std::str::FromStr for ConnectionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unknown" => Ok(Self::Unknown),
            "connected" => Ok(Self::Connected),
            "broken" => Ok(Self::Broken),
            other => Err(format!("{other:?} is not a connection state")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganization {
    pub name: String,
    pub tenant: String,
    pub cloud: String,
    pub app_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    Generated,
    Uploaded,
}

impl CertificateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Uploaded => "uploaded",
        }
    }
}

/// The public part of a certificate the service holds. The private key stays in the repository,
/// encrypted, and is read only to sign a client assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    pub id: CertificateId,
    pub organization: OrganizationId,
    pub source: CertificateSource,
    pub subject: String,
    /// Upper-case hex, as Entra ID shows it.
    pub sha1_hex: String,
    pub sha256_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// When it became the active certificate, if it ever did.
    pub activated_at: Option<OffsetDateTime>,
    /// What Entra said the last time an app-only token was requested with it.
    pub last_proof: Option<crate::proof::CredentialProof>,
}

/// What a portal account may do. Checked on the server for every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Administrator => "administrator",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Viewer => "Viewer",
            Self::Operator => "Operator",
            Self::Administrator => "Administrator",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "viewer" => Some(Self::Viewer),
            "operator" => Some(Self::Operator),
            "administrator" | "admin" => Some(Self::Administrator),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

/// Without the password hash: an offline guessing attack needs only that string.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}
