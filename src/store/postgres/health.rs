//! Whether the database answers: every call and the background ping record
//! what they met, and `/readyz` reads it. An outage starts at the first
//! failure that a retry could cure (no connection, a server going away)
//! and ends at the next answer.

use std::sync::Mutex;

use time::OffsetDateTime;

use super::Failure;

/// What `/readyz` says about the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Available,
    /// Unreachable since `since`; `problem` is the last failure's words.
    Unavailable {
        since: OffsetDateTime,
        problem: String,
    },
}

/// The outage in progress, if any.
#[derive(Default)]
pub(super) struct Health(Mutex<Option<(OffsetDateTime, String)>>);

impl Health {
    /// Records a call's end: `None` (it succeeded) or its failure. A
    /// failure that is not about reaching the server (a refused statement)
    /// still proves the server answers.
    /// The start and the end of an outage are logged, once each.
    pub(super) fn record(&self, failure: Option<&Failure>) {
        let mut outage = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match failure {
            Some(f) if f.retryable() => {
                let problem = f.problem();
                let since = match outage.as_ref() {
                    Some((since, _)) => *since,
                    None => {
                        tracing::warn!(
                            problem = %problem,
                            "The connection store is unavailable; checks go on with the tokens already loaded, actions fail until it is back"
                        );
                        OffsetDateTime::now_utc()
                    }
                };
                *outage = Some((since, problem));
            }
            _ => {
                if let Some((since, _)) = outage.take() {
                    let seconds = (OffsetDateTime::now_utc() - since).whole_seconds();
                    tracing::info!(outage_seconds = seconds, "The connection store is available again");
                }
            }
        }
    }

    pub(super) fn availability(&self) -> Availability {
        match &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            None => Availability::Available,
            Some((since, problem)) => Availability::Unavailable {
                since: *since,
                problem: problem.clone(),
            },
        }
    }
}
