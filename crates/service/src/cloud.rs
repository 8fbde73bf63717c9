//! The cloud an organization lives in: one of Microsoft's national clouds, or the in-process
//! sandbox tenant. A closed set: `[clouds.NAME]` in the configuration only changes the endpoints
//! of a known national cloud (see `docs/decisions.md`, 2026-12-02), so text is parsed into
//! [`Cloud`] where it comes in — the store's `cloud` column, the API and the forms, the
//! configuration — and never compared as a string inside.

use crate::error::{ServiceError, ServiceResult};
use crate::model::parse_as_str;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cloud {
    #[serde(rename = "global")]
    Global,
    #[serde(rename = "usgov")]
    UsGov,
    #[serde(rename = "china")]
    China,
    /// The sandbox tenant `tenantlink serve` runs in-process when no organization is configured.
    #[serde(rename = "sandbox")]
    Sandbox,
}

impl Cloud {
    /// The name in the database, the API and the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::UsGov => "usgov",
            Self::China => "china",
            Self::Sandbox => "sandbox",
        }
    }

    /// The Microsoft cloud whose Entra ID and Graph serve it; `None` for the sandbox.
    pub fn microsoft(self) -> Option<tenantlink_entra::Cloud> {
        match self {
            Self::Global => Some(tenantlink_entra::Cloud::Global),
            Self::UsGov => Some(tenantlink_entra::Cloud::UsGov),
            Self::China => Some(tenantlink_entra::Cloud::China),
            Self::Sandbox => None,
        }
    }

    /// A cloud as an administrator gives it (surrounding space and letter case ignored), or the
    /// error that names the `cloud` field and the accepted names.
    pub fn from_input(text: &str) -> ServiceResult<Self> {
        text.trim()
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| ServiceError::Invalid {
                field: "cloud".to_owned(),
                message: "the cloud is one of global, usgov, china or sandbox".to_owned(),
            })
    }
}

parse_as_str!(Cloud {
    Global,
    UsGov,
    China,
    Sandbox
});

impl From<tenantlink_entra::Cloud> for Cloud {
    fn from(cloud: tenantlink_entra::Cloud) -> Self {
        match cloud {
            tenantlink_entra::Cloud::Global => Self::Global,
            tenantlink_entra::Cloud::UsGov => Self::UsGov,
            tenantlink_entra::Cloud::China => Self::China,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cloud_round_trips_through_its_name_and_serde() {
        for cloud in Cloud::ALL {
            assert_eq!(cloud.as_str().parse::<Cloud>(), Ok(*cloud));
            let json = serde_json::to_string(cloud).unwrap();
            assert_eq!(json, format!("\"{}\"", cloud.as_str()));
            assert_eq!(serde_json::from_str::<Cloud>(&json).unwrap(), *cloud);
        }
    }

    #[test]
    fn stored_names_parse_exactly() {
        assert!("Global".parse::<Cloud>().is_err());
        assert!(" sandbox".parse::<Cloud>().is_err());
        assert!("azurepublic".parse::<Cloud>().is_err());
    }

    #[test]
    fn input_ignores_space_and_case_and_names_the_field_when_unknown() {
        assert_eq!(Cloud::from_input("  USGov ").unwrap(), Cloud::UsGov);
        assert_eq!(Cloud::from_input("SANDBOX").unwrap(), Cloud::Sandbox);
        match Cloud::from_input("moon") {
            Err(ServiceError::Invalid { field, message }) => {
                assert_eq!(field, "cloud");
                assert!(
                    message.contains("global, usgov, china or sandbox"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_national_clouds_map_to_microsofts_and_back() {
        for cloud in Cloud::ALL {
            match cloud.microsoft() {
                Some(microsoft) => assert_eq!(Cloud::from(microsoft), *cloud),
                None => assert_eq!(*cloud, Cloud::Sandbox),
            }
        }
    }
}
