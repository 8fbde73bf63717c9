//! Domain records shared by the workflows, the repository and the web front end.

use crate::assertion_profile::AssertionProfile;
use crate::cloud::Cloud;
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

/// Text that names no variant of one of the service's stored enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// `FromStr` for an enum with `as_str()`: exactly the spelling `as_str()` gives (the stored
/// and API text), nothing else. Parse at the edge; inside, the enum is the value.
macro_rules! parse_as_str {
    ($name:ident { $($variant:ident),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| $crate::model::UnknownValue {
                        kind: stringify!($name),
                        value: text.to_owned(),
                    })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use parse_as_str;

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
model_id!(
    /// An API token (its secret is kept only as a hash).
    ApiTokenId
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    /// Tenant GUID or `*.onmicrosoft.com` name.
    pub tenant: String,
    pub cloud: Cloud,
    /// The backup app registration's `appId` (client id).
    pub app_id: String,
    /// The app registration's object id, looked up through Graph at the first sign-in.
    pub app_object_id: Option<String>,
    pub active_certificate: Option<CertificateId>,
    /// Whether the organization's credential worked the last time it was used.
    pub connection: ConnectionState,
    /// Entra's message when it last refused the credential, verbatim; never a secret.
    pub last_error: Option<String>,
    /// How its client assertions are shaped (RS256 + `x5t` unless an administrator changed it).
    pub assertion_profile: AssertionProfile,
    pub created_at: OffsetDateTime,
}

/// Whether the organization's active certificate last obtained an app-only token: `unknown`
/// until it is first used, then `connected` or `broken` (see [`crate::connection_after_proof`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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

parse_as_str!(ConnectionState {
    Unknown,
    Connected,
    Broken
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganization {
    pub name: String,
    pub tenant: String,
    pub cloud: Cloud,
    pub app_id: String,
}

impl NewOrganization {
    /// The organization this becomes when it is added as `id` at `at`: no certificate yet, its
    /// connection unknown until first used, the default assertion profile.
    pub fn added(self, id: OrganizationId, at: OffsetDateTime) -> Organization {
        Organization {
            id,
            name: self.name,
            tenant: self.tenant,
            cloud: self.cloud,
            app_id: self.app_id,
            app_object_id: None,
            active_certificate: None,
            connection: ConnectionState::Unknown,
            last_error: None,
            assertion_profile: AssertionProfile::default(),
            created_at: at,
        }
    }
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

parse_as_str!(CertificateSource {
    Generated,
    Uploaded
});

/// A certificate's life: `pending` (stored, not yet proven) → `active` (the one in use) →
/// `retired` (replaced); or `pending` → `discarded` (its operation failed). At most one
/// certificate of an organization is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    Pending,
    Active,
    Retired,
    Discarded,
}

impl CertificateState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Discarded => "discarded",
        }
    }
}

parse_as_str!(CertificateState {
    Pending,
    Active,
    Retired,
    Discarded
});

/// The public part of a certificate the service holds. The private key stays in the repository,
/// encrypted, and is read only to sign a client assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    pub id: CertificateId,
    pub organization: OrganizationId,
    pub source: CertificateSource,
    pub subject: String,
    /// Upper-case hex, as Entra ID shows it.
    pub sha1_thumbprint: String,
    /// Upper-case hex.
    pub sha256_thumbprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
    pub state: CertificateState,
    pub created_at: OffsetDateTime,
    /// When it became the active certificate, if it ever did.
    pub activated_at: Option<OffsetDateTime>,
    /// When another certificate replaced it as the active one.
    pub retired_at: Option<OffsetDateTime>,
    /// When tenantlink took its key off the application (Graph `removeKey`) after a rotation
    /// replaced it; `None` while the application may still list it.
    pub key_removed_at: Option<OffsetDateTime>,
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

parse_as_str!(Role {
    Viewer,
    Operator,
    Administrator
});

#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// A disabled account cannot sign in; its sessions were ended when it was disabled.
    pub disabled: bool,
    pub created_at: OffsetDateTime,
}

/// Without the password hash: an offline guessing attack needs only that string. Its
/// algorithm and parameters (the PHC string's first fields) are shown; salt and hash are not.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parameters: Vec<&str> = self.password_hash.split('$').take(4).collect();
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field(
                "password_hash",
                &format_args!("{}$<redacted>", parameters.join("$")),
            )
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_words_parse_back_and_nothing_else_does() {
        for state in ConnectionState::ALL {
            assert_eq!(state.as_str().parse::<ConnectionState>(), Ok(*state));
        }
        for state in CertificateState::ALL {
            assert_eq!(state.as_str().parse::<CertificateState>(), Ok(*state));
        }
        for source in CertificateSource::ALL {
            assert_eq!(source.as_str().parse::<CertificateSource>(), Ok(*source));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        // Role::parse reads what people type; FromStr only what is stored.
        assert_eq!(Role::parse("Admin"), Some(Role::Administrator));
        assert_eq!(
            "admin".parse::<Role>(),
            Err(UnknownValue {
                kind: "Role",
                value: "admin".into()
            })
        );
        assert!("Connected".parse::<ConnectionState>().is_err());
    }
}
