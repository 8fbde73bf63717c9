//! How an organization's client assertions are shaped: the header profile tenantlink signs
//! with when it asks Entra ID for an app-only token (the certificate proof, Check connection,
//! backup runs). A per-organization setting because Entra deployments differ in what they
//! accept; changed by an administrator on the organization's page or through the API.

use serde::{Deserialize, Serialize};

/// Parsed from its text wherever text comes in (`FromStr`; serde goes through it, so a bad value
/// in an API body is refused with [`UnknownAssertionProfile`]'s message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub enum AssertionProfile {
    /// RS256 with the SHA-1 `x5t`: what most clients send and every Entra deployment accepts.
    #[default]
    #[serde(rename = "rs256")]
    Rs256X5t,
    /// PS256 with the SHA-256 `x5t#S256`: what current Microsoft documentation and MSAL use.
    #[serde(rename = "ps256")]
    Ps256X5tS256,
}

impl AssertionProfile {
    pub const ALL: [AssertionProfile; 2] = [Self::Rs256X5t, Self::Ps256X5tS256];

    /// The spelling stored in the database and used in the API and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256X5t => "rs256",
            Self::Ps256X5tS256 => "ps256",
        }
    }

    /// What the organization's page shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rs256X5t => "RS256 with x5t (SHA-1 thumbprint)",
            Self::Ps256X5tS256 => "PS256 with x5t#S256 (SHA-256 thumbprint)",
        }
    }
}

impl std::fmt::Display for AssertionProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The entra client's name for the same header profile (one conversion, used by every caller
/// that signs: the Directory adapter and backup runs).
impl From<AssertionProfile> for tenantlink_entra::AssertionProfile {
    fn from(profile: AssertionProfile) -> Self {
        match profile {
            AssertionProfile::Rs256X5t => Self::Rs256X5t,
            AssertionProfile::Ps256X5tS256 => Self::Ps256X5tS256,
        }
    }
}

/// Text that names no assertion profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an assertion profile; use \"rs256\" or \"ps256\"")]
pub struct UnknownAssertionProfile(pub String);

impl TryFrom<String> for AssertionProfile {
    type Error = UnknownAssertionProfile;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl std::str::FromStr for AssertionProfile {
    type Err = UnknownAssertionProfile;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|profile| profile.as_str() == text)
            .ok_or_else(|| UnknownAssertionProfile(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_rs256_is_the_default() {
        for profile in AssertionProfile::ALL {
            assert_eq!(profile.as_str().parse::<AssertionProfile>(), Ok(profile));
            let json = serde_json::to_string(&profile).unwrap();
            assert_eq!(json, format!("\"{}\"", profile.as_str()));
            assert_eq!(
                serde_json::from_str::<AssertionProfile>(&json).unwrap(),
                profile
            );
        }
        assert_eq!(AssertionProfile::default(), AssertionProfile::Rs256X5t);
        let refused = serde_json::from_str::<AssertionProfile>("\"es256\"").unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("\"es256\" is not an assertion profile"),
            "{refused}"
        );
        assert_eq!(
            "PS256".parse::<AssertionProfile>(),
            Err(UnknownAssertionProfile("PS256".to_owned()))
        );
    }
}
