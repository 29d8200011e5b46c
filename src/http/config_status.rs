//! Whether the configuration the daemon runs is the file on disk: after a
//! reload that failed it is not (the daemon keeps the previous one), and
//! `/readyz?verbose` and `/status` say so, and since when, until a reload
//! succeeds (`docs/http.md`). The log alone is too easy to miss.

use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::ConfigErrors;
use crate::report::rfc3339;

/// Written by the daemon at each reload, read by the handlers.
#[derive(Debug, Default)]
pub struct ConfigStatus {
    failure: Mutex<Option<ReloadFailure>>,
}

/// A reload that failed, and the failures after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadFailure {
    /// The first failed reload since the configuration was last loaded.
    pub since: OffsetDateTime,
    /// Where the file is wrong (`FILE:LINE:COL`), from the latest attempt.
    /// Only the places: a message may quote the file, and `/status` needs
    /// no authentication; the messages are in the log and in
    /// `labwatch config check`.
    pub locations: Vec<String>,
}

impl ConfigStatus {
    /// A reload failed at `at`: the running configuration stays the previous one.
    pub fn reload_failed(&self, errors: &ConfigErrors, at: OffsetDateTime) {
        let locations = errors
            .0
            .iter()
            .map(|e| {
                if e.line == 0 {
                    e.file.display().to_string()
                } else {
                    format!("{}:{}:{}", e.file.display(), e.line, e.column)
                }
            })
            .collect();
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        let since = failure.as_ref().map_or(at, |f| f.since);
        *failure = Some(ReloadFailure { since, locations });
    }

    /// A reload succeeded: the running configuration is the file again.
    pub fn reloaded(&self) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn failure(&self) -> Option<ReloadFailure> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The `config` object of `/status`.
    pub fn doc(&self) -> ConfigDoc {
        match self.failure() {
            None => ConfigDoc {
                stale: false,
                stale_since: None,
                reload_errors: Vec::new(),
            },
            Some(f) => ConfigDoc {
                stale: true,
                stale_since: Some(rfc3339(f.since)),
                reload_errors: f.locations,
            },
        }
    }
}

/// `"config": {"stale": …, "stale_since": …, "reload_errors": […]}`.
#[derive(Debug, Serialize)]
pub struct ConfigDoc {
    /// The last reload failed; the daemon runs the configuration it had.
    pub stale: bool,
    /// When the first failed reload since the last good load happened.
    pub stale_since: Option<String>,
    /// Where the file is wrong, as `FILE:LINE:COL`.
    pub reload_errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    fn errors(line: usize) -> ConfigErrors {
        ConfigErrors(vec![ConfigError {
            file: "/etc/lw.toml".into(),
            line,
            column: 7,
            message: "secret-looking message".into(),
        }])
    }

    #[test]
    fn stale_since_the_first_failure_until_a_good_reload() {
        let status = ConfigStatus::default();
        assert!(!status.doc().stale);
        let first = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        status.reload_failed(&errors(3), first);
        status.reload_failed(&errors(4), first + time::Duration::minutes(5));
        let doc = status.doc();
        assert!(doc.stale);
        assert_eq!(doc.stale_since.as_deref(), Some("2027-01-15T08:00:00Z"));
        assert_eq!(doc.reload_errors, ["/etc/lw.toml:4:7"]);
        status.reloaded();
        assert!(status.failure().is_none());
    }
}
