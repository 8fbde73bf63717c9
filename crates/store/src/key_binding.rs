//! What a certificate's encrypted private key is bound to (the AEAD associated data), and the
//! `certificates.key_binding` column that says which binding a row uses.
//!
//! Binding 2 names the certificate, its organization and its SHA-256 thumbprint, so someone with
//! write access to the database cannot move a key to another organization or put it under
//! another certificate: the row no longer decrypts. Binding 1 (the id only) is what rows written
//! before migration 0010 use; [`crate::Store::upgrade_key_bindings`] rewraps them at start-up,
//! and reading a key still at binding 1 is refused so nothing signs with an unbound key.

use tenantlink_service::{CertificateId, OrganizationId};

use crate::crypto::CryptoError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyBinding {
    /// Rows sealed before migration 0010: the certificate id only.
    CertificateId,
    /// The certificate id, its organization and its SHA-256 thumbprint.
    OrganizationAndThumbprint,
}

impl KeyBinding {
    /// What every new or rewrapped row uses.
    pub(crate) const CURRENT: Self = Self::OrganizationAndThumbprint;

    pub(crate) fn column_value(self) -> i64 {
        match self {
            Self::CertificateId => 1,
            Self::OrganizationAndThumbprint => 2,
        }
    }

    pub(crate) fn from_column(value: i64) -> Option<Self> {
        match value {
            1 => Some(Self::CertificateId),
            2 => Some(Self::OrganizationAndThumbprint),
            _ => None,
        }
    }

    /// The associated data for a key owned by `owner` under this binding.
    pub(crate) fn context(self, owner: &KeyOwner) -> Vec<u8> {
        match self {
            Self::CertificateId => owner.certificate.to_string().into_bytes(),
            Self::OrganizationAndThumbprint => format!(
                "binding-2:certificate={}:organization={}:sha256={}",
                owner.certificate, owner.organization, owner.sha256_thumbprint
            )
            .into_bytes(),
        }
    }

    /// Refuses a binding that reading code must not use any more.
    pub(crate) fn require_current(self, owner: &KeyOwner) -> Result<(), CryptoError> {
        if self == Self::CURRENT {
            Ok(())
        } else {
            Err(CryptoError::OutdatedBinding {
                certificate: owner.certificate.to_string(),
            })
        }
    }
}

/// The row a private key belongs to, as the associated data names it.
#[derive(Debug, Clone)]
pub(crate) struct KeyOwner {
    pub certificate: CertificateId,
    pub organization: OrganizationId,
    pub sha256_thumbprint: String,
}
