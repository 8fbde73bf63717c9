//! What an administrator decides about renewing an organization's certificate.

use serde::{Deserialize, Serialize};
use time::Duration;

/// The default spread of renewal times: every organization renews up to this much before its
/// planned point, so a fleet that was connected in one afternoon does not rotate in one minute.
pub const DEFAULT_JITTER: Duration = Duration::hours(24);
/// The wait after the first failed attempt; it doubles with each further failure.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::minutes(5);
/// The longest wait between two attempts.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::hours(24);

/// The longest wait an administrator may set between attempts: a longer one could let a
/// certificate run out between two attempts without anyone noticing.
const MAX_BACKOFF: Duration = Duration::days(7);
/// The widest jitter an administrator may set.
const MAX_JITTER: Duration = Duration::days(30);

/// One organization's renewal policy. The defaults renew automatically at two thirds of the
/// certificate's lifetime, with new certificates as long as the configured validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Whether tenantlink renews by itself. Off: the state says so and nothing is attempted.
    pub automatic: bool,
    /// Lifetime of new certificates in days; `None` is the configured `validity_days`.
    pub lifetime_days: Option<u32>,
    /// The longest certificate lifetime the tenant accepts (its app-management policy's
    /// `asymmetricKeyLifetime`), when one is declared: new certificates never last longer.
    pub tenant_max_lifetime_days: Option<u32>,
    /// When in a certificate's life renewal is due.
    pub renew_at: RenewAtFraction,
    /// Renewal happens up to this much before the planned point, the same for every instance.
    pub jitter: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// What to do when the active certificate was uploaded (CA-issued).
    pub uploaded: UploadedCertificates,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        Self {
            automatic: true,
            lifetime_days: None,
            tenant_max_lifetime_days: None,
            renew_at: RenewAtFraction::TWO_THIRDS,
            jitter: DEFAULT_JITTER,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            uploaded: UploadedCertificates::WarnOnly,
        }
    }
}

impl RenewalPolicy {
    /// The lifetime a new certificate gets: the policy's (or the configured `validity_days`),
    /// never longer than the tenant's maximum, never longer than a certificate can be.
    pub fn new_certificate_days(&self, configured_validity_days: u32) -> u32 {
        let wanted = self.lifetime_days.unwrap_or(configured_validity_days);
        let capped = match self.tenant_max_lifetime_days {
            Some(max) => wanted.min(max),
            None => wanted,
        };
        capped.clamp(1, tenantlink_certificate::MAX_VALIDITY_DAYS)
    }

    /// Refuses a policy that cannot work, naming the field (as the API spells it).
    pub fn validate(&self) -> Result<(), PolicyError> {
        let days = 1..=tenantlink_certificate::MAX_VALIDITY_DAYS;
        if let Some(lifetime) = self.lifetime_days
            && !days.contains(&lifetime)
        {
            return Err(PolicyError::new(
                "lifetime_days",
                format!(
                    "must be between 1 and {} days, not {lifetime}",
                    tenantlink_certificate::MAX_VALIDITY_DAYS
                ),
            ));
        }
        if let Some(max) = self.tenant_max_lifetime_days
            && !days.contains(&max)
        {
            return Err(PolicyError::new(
                "tenant_max_lifetime_days",
                format!(
                    "must be between 1 and {} days, not {max}",
                    tenantlink_certificate::MAX_VALIDITY_DAYS
                ),
            ));
        }
        if self.jitter.is_negative() || self.jitter > MAX_JITTER {
            return Err(PolicyError::new(
                "jitter_seconds",
                format!(
                    "must be between 0 and {} seconds",
                    MAX_JITTER.whole_seconds()
                ),
            ));
        }
        if !self.backoff_base.is_positive() || self.backoff_base > MAX_BACKOFF {
            return Err(PolicyError::new(
                "backoff_base_seconds",
                format!(
                    "must be between 1 and {} seconds",
                    MAX_BACKOFF.whole_seconds()
                ),
            ));
        }
        if self.backoff_cap < self.backoff_base || self.backoff_cap > MAX_BACKOFF {
            return Err(PolicyError::new(
                "backoff_cap_seconds",
                format!(
                    "must be at least backoff_base_seconds ({}) and at most {} seconds",
                    self.backoff_base.whole_seconds(),
                    MAX_BACKOFF.whole_seconds()
                ),
            ));
        }
        Ok(())
    }
}

/// A policy value that cannot work: which field, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("renewal_policy.{field} {problem}")]
pub struct PolicyError {
    pub field: &'static str,
    pub problem: String,
}

impl PolicyError {
    fn new(field: &'static str, problem: String) -> Self {
        Self { field, problem }
    }
}

/// The share of a certificate's lifetime after which it is renewed, as an exact fraction
/// (`"2/3"`): two thirds is not a whole percentage, and cert-manager's default rests on it.
/// Always strictly between 0 and 1, so renewal is planned inside the certificate's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RenewAtFraction {
    numerator: u16,
    denominator: u16,
}

impl RenewAtFraction {
    pub const TWO_THIRDS: Self = Self {
        numerator: 2,
        denominator: 3,
    };
    /// Denominators up to this are accepted (per mille is the finest anyone needs).
    const MAX_DENOMINATOR: u16 = 1000;

    pub fn new(numerator: u16, denominator: u16) -> Result<Self, PolicyError> {
        if denominator == 0 || denominator > Self::MAX_DENOMINATOR {
            return Err(PolicyError::new(
                "renew_at_fraction",
                format!(
                    "needs a denominator between 1 and {}",
                    Self::MAX_DENOMINATOR
                ),
            ));
        }
        if numerator == 0 || numerator >= denominator {
            return Err(PolicyError::new(
                "renew_at_fraction",
                format!(
                    "must lie strictly between 0 and 1 (\"2/3\" renews after two thirds of the lifetime), not {numerator}/{denominator}"
                ),
            ));
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    pub fn numerator(self) -> u16 {
        self.numerator
    }

    pub fn denominator(self) -> u16 {
        self.denominator
    }

    /// This share of `lifetime`, rounded down to the second.
    pub fn of(self, lifetime: Duration) -> Duration {
        // i128 so a 10-year lifetime times 1000 cannot overflow.
        let seconds = i128::from(lifetime.whole_seconds()) * i128::from(self.numerator)
            / i128::from(self.denominator);
        Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

impl std::fmt::Display for RenewAtFraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl std::str::FromStr for RenewAtFraction {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let not_a_fraction = || {
            PolicyError::new(
                "renew_at_fraction",
                format!("must be a fraction such as \"2/3\", not {text:?}"),
            )
        };
        let (numerator, denominator) = text.split_once('/').ok_or_else(not_a_fraction)?;
        let parse = |part: &str| {
            // Digits only: `u16::from_str` would also take a leading `+`.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_fraction());
            }
            part.parse::<u16>().map_err(|_| not_a_fraction())
        };
        Self::new(parse(numerator)?, parse(denominator)?)
    }
}

impl TryFrom<String> for RenewAtFraction {
    type Error = PolicyError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<RenewAtFraction> for String {
    fn from(fraction: RenewAtFraction) -> Self {
        fraction.to_string()
    }
}

/// What automatic renewal does when the active certificate was uploaded: a CA-issued
/// certificate is not replaced by a self-signed one without the administrator's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadedCertificates {
    /// When renewal is due, say that an administrator must upload a new one; change nothing.
    #[default]
    WarnOnly,
    /// Replace it with a generated certificate like any other.
    Rotate,
}

impl UploadedCertificates {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WarnOnly => "warn_only",
            Self::Rotate => "rotate",
        }
    }
}

crate::model::parse_as_str!(UploadedCertificates { WarnOnly, Rotate });
