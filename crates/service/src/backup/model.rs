//! The records of backup policies and their runs.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{OrganizationId, model_id};

model_id!(
    /// One backup policy of an organization.
    PolicyId
);
model_id!(
    /// One run of a backup policy: an entry of its job log.
    RunId
);

/// Which users a policy backs up. Stored as JSON in this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "users", rename_all = "snake_case")]
pub enum BackupScope {
    AllUsers,
    Users(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPolicy {
    pub id: PolicyId,
    pub organization_id: OrganizationId,
    pub name: String,
    /// Cron expression or interval, interpreted by the scheduler; blank means "no schedule".
    pub schedule: String,
    pub scope: BackupScope,
    pub enabled: bool,
    /// When the scheduler should next run it; `None` when it has no schedule.
    pub next_due_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewBackupPolicy {
    pub organization_id: OrganizationId,
    pub name: String,
    pub schedule: String,
    pub scope: BackupScope,
    pub enabled: bool,
    pub next_due_at: Option<OffsetDateTime>,
}

/// A stored word that names no variant of the enum it is read into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
}

/// An enum stored as text: one spelling for the database, the API and the code.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownVariant {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What started a run.
    RunTrigger {
        Scheduled => "scheduled",
        /// Run now.
        Manual => "manual",
    }
);

text_enum!(
    /// Where a run is, or how it ended.
    RunStatus {
        Running => "running",
        Success => "success",
        /// Finished, but some mailboxes or users could not be backed up.
        Warning => "warning",
        Failed => "failed",
    }
);

/// One run of a policy: the job log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRun {
    pub id: RunId,
    pub policy_id: PolicyId,
    pub organization_id: OrganizationId,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub users: i64,
    pub items_new: i64,
    pub items_changed: i64,
    /// On failure: Entra's or Graph's message verbatim, plus the explanation.
    pub error_text: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub status: RunStatus,
    pub users: i64,
    pub items_new: i64,
    pub items_changed: i64,
    pub error_text: Option<String>,
}

/// A backed-up message's index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxItem {
    pub organization_id: OrganizationId,
    pub user_id: String,
    pub message_id: String,
    pub subject: String,
    pub sender: String,
    pub received_at: OffsetDateTime,
    pub size: i64,
    pub content_hash: Vec<u8>,
}

/// What an upsert did, so a run can count new and changed items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    Inserted,
    Changed,
    Unchanged,
}

/// Where the next incremental read of one mailbox under one policy starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaLink {
    pub policy_id: PolicyId,
    pub user_id: String,
    pub delta_link: String,
    pub run_id: RunId,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_words_round_trip_and_unknown_ones_are_refused() {
        for trigger in RunTrigger::ALL {
            assert_eq!(trigger.as_str().parse::<RunTrigger>(), Ok(*trigger));
        }
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(*status));
        }
        assert_eq!(
            "done".parse::<RunStatus>(),
            Err(UnknownVariant {
                kind: "RunStatus",
                value: "done".into()
            })
        );
    }
}
