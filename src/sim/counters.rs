//! What the simulator saw: request counts per route template and per status,
//! and a bounded log of recent requests (method, path, status, token id —
//! never a secret). Tests assert on these ("exactly one 401", "at most 25 API
//! calls in a round").

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many requests the log keeps.
const LOG_CAPACITY: usize = 10_000;

/// One logged request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Position in the simulator's request sequence since the last reset (from 1).
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The query string with any `private_token` value redacted.
    pub query: Option<String>,
    /// The route template, e.g. `GET /api/v4/projects/{id}`.
    pub route: String,
    /// The answer's status; 0 when the connection was dropped unanswered.
    pub status: u16,
    /// The id of the token the request carried, when it names a known token
    /// (whether or not that token still works).
    pub token_id: Option<u64>,
    pub client_ip: String,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub total: u64,
    /// `"GET /api/v4/projects"` → count.
    pub by_route: BTreeMap<String, u64>,
    /// `"200"` → count; dropped connections count as `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
    /// The most recent requests, oldest first.
    pub recent: Vec<LoggedRequest>,
}

impl Counters {
    /// Requests answered with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.by_status.get(&status.to_string()).copied().unwrap_or(0)
    }

    /// Requests that matched `route` (e.g. `"GET /api/v4/user"`).
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// Requests under `/api/`.
    pub fn api_calls(&self) -> u64 {
        self.by_route
            .iter()
            .filter(|(route, _)| route.split_once(' ').is_some_and(|(_, path)| path.starts_with("/api/")))
            .map(|(_, n)| n)
            .sum()
    }

    /// Logged requests that carried the token with this id.
    pub fn with_token(&self, token_id: u64) -> impl Iterator<Item = &LoggedRequest> {
        self.recent.iter().filter(move |r| r.token_id == Some(token_id))
    }
}

#[derive(Debug, Default)]
pub struct Recorder {
    counters: Counters,
    log: VecDeque<LoggedRequest>,
}

impl Recorder {
    pub fn record(&mut self, mut entry: LoggedRequest) {
        let c = &mut self.counters;
        c.total += 1;
        entry.seq = c.total;
        *c.by_route.entry(entry.route.clone()).or_default() += 1;
        let status = if entry.status == 0 {
            "dropped".to_owned()
        } else {
            entry.status.to_string()
        };
        *c.by_status.entry(status).or_default() += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    pub fn snapshot(&self) -> Counters {
        Counters {
            recent: self.log.iter().cloned().collect(),
            ..self.counters.clone()
        }
    }

    pub fn reset(&mut self) {
        *self = Recorder::default();
    }
}
