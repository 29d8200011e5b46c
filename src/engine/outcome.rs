//! What a check says: a [`Status`] in Nagios order, a stable reason code, a
//! one-line summary, the steps that fix it, and numeric measurements.
//!
//! Checks never return `Err`; every failure is an [`Outcome`] so that the
//! scheduler, the endpoints and the metrics treat "GitLab is down" and "GitLab
//! is fine" the same way: as data.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::capabilities::Capabilities;
use super::measurements::Measurements;
use super::reason::Reason;

/// Nagios plugin order: the numeric value is the exit code of `labwatch check`
/// and the value of `labwatch_check_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// The Nagios exit code / metric value.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Whether dependents may run: a warning (say, a certificate that expires
    /// in ten days) still means the thing works, so only critical and unknown
    /// block the checks that build on it.
    pub fn is_usable(self) -> bool {
        matches!(self, Status::Ok | Status::Warning)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one run of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// How bad it is.
    pub status: Status,
    /// Stable kebab-case code (see [`Reason`]); plugins may bring their own.
    pub reason: String,
    /// One line a person reads first.
    pub summary: String,
    /// Ordered steps that fix the problem; empty when there is nothing to do.
    pub remediation: Vec<String>,
    /// Numbers worth graphing (seconds, counts, timestamps).
    pub measurements: Measurements,
    /// Further lines of explanation (a Nagios plugin's long output); not
    /// steps to take.
    pub details: Vec<String>,
    /// A repository check's capability verdicts; empty for other checks.
    #[serde(skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
}

impl Outcome {
    /// An outcome whose reason comes from the built-in registry; the
    /// registry's generic remediation is used unless `with_remediation`
    /// replaces it.
    pub fn new(status: Status, reason: Reason, summary: impl Into<String>) -> Self {
        Outcome {
            status,
            reason: reason.code().to_owned(),
            summary: summary.into(),
            remediation: reason.remediation().iter().map(|s| (*s).to_owned()).collect(),
            measurements: Measurements::new(),
            details: Vec::new(),
            capabilities: Capabilities::default(),
        }
    }

    pub fn ok(summary: impl Into<String>) -> Self {
        Outcome::new(Status::Ok, Reason::Ok, summary)
    }

    /// Replaces the remediation steps.
    pub fn with_remediation<I, S>(mut self, steps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.remediation = steps.into_iter().map(Into::into).collect();
        self
    }

    /// Puts a context-specific step in front of the generic ones.
    pub fn with_first_step(mut self, step: impl Into<String>) -> Self {
        self.remediation.insert(0, step.into());
        self
    }

    /// Adds a line of explanation (see [`Outcome::details`]).
    pub fn with_detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn with_measurement(mut self, name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        self.measurements.insert(name.into(), value);
        self
    }

    /// Whether checks that depend on this one must wait: critical or
    /// unknown, unless the reason says the thing still works for now (a
    /// token that expires in two days is critical, yet still authenticates).
    pub fn blocks_dependents(&self) -> bool {
        !self.status.is_usable() && !Reason::from_code(&self.reason).is_some_and(Reason::still_works)
    }

    /// Replaces `{key}` placeholders in the remediation steps, so the
    /// registry's generic text can name the URL, host or port at hand.
    pub fn fill(mut self, vars: &[(&str, &str)]) -> Self {
        for step in &mut self.remediation {
            for (key, value) in vars {
                let placeholder = format!("{{{key}}}");
                if step.contains(&placeholder) {
                    *step = step.replace(&placeholder, value);
                }
            }
        }
        self
    }
}
