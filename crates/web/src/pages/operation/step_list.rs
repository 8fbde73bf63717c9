//! An operation's steps in words, each marked done, current, failed or to come: the list the
//! rotate and connect pages show and app.js keeps up to date by reloading on a new step.

use maud::{Markup, html};
use std::cmp::Ordering;
use tenantlink_service::OperationStep;

/// Where the operation stands in `steps`: the index of the last step finished (`None` before
/// the first), whether it is still working on the next, and the index of a step that failed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Progress {
    pub done: Option<usize>,
    pub working: bool,
    pub failed: Option<usize>,
}

impl Progress {
    /// From a stored step: everything up to it done, the next one current while not finished.
    pub fn at(steps: &[(OperationStep, &str)], step: OperationStep) -> Self {
        let done = steps.iter().position(|(s, _)| *s == step);
        Self {
            done,
            working: !step.is_finished(),
            failed: None,
        }
    }

    fn state(&self, index: usize) -> &'static str {
        if let Some(failed) = self.failed {
            return match index.cmp(&failed) {
                Ordering::Less => "done",
                Ordering::Equal => "failed",
                Ordering::Greater => "waiting",
            };
        }
        let next = self.done.map_or(0, |done| done + 1);
        match index.cmp(&next) {
            Ordering::Less => "done",
            Ordering::Equal if self.working => "current",
            _ => "waiting",
        }
    }
}

pub(super) fn list(id: &str, steps: &[(OperationStep, &str)], progress: Progress) -> Markup {
    html! {
        ol.steps id=(id) {
            @for (index, (name, text)) in steps.iter().enumerate() {
                li data-step=(name.as_str()) data-state=(progress.state(index)) { (text) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [(OperationStep, &str); 3] = [
        (OperationStep::ApplicationCreated, "a"),
        (OperationStep::OwnerAdded, "b"),
        (OperationStep::Succeeded, "c"),
    ];

    fn states(progress: Progress) -> Vec<&'static str> {
        (0..STEPS.len()).map(|i| progress.state(i)).collect()
    }

    #[test]
    fn a_stored_step_marks_what_is_done_and_what_runs_next() {
        let at_first = Progress::at(&STEPS, OperationStep::ApplicationCreated);
        assert_eq!(states(at_first), ["done", "current", "waiting"]);
        let succeeded = Progress::at(&STEPS, OperationStep::Succeeded);
        assert_eq!(states(succeeded), ["done", "done", "done"]);
    }

    #[test]
    fn before_the_first_step_only_a_working_operation_has_a_current_step() {
        let working = Progress {
            working: true,
            ..Progress::default()
        };
        assert_eq!(states(working), ["current", "waiting", "waiting"]);
        assert_eq!(
            states(Progress::default()),
            ["waiting", "waiting", "waiting"]
        );
    }

    #[test]
    fn a_failed_step_follows_the_done_ones() {
        let failed = Progress {
            failed: Some(1),
            ..Progress::default()
        };
        assert_eq!(states(failed), ["done", "failed", "waiting"]);
    }
}
