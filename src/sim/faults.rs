//! Injected trouble: latency on every (non-control) request, the next N
//! requests failing with a chosen status, the next N connections dropped
//! without an answer — each optionally limited to a path prefix.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Fail the next `count` matching requests with `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailSpec {
    pub count: u32,
    pub status: u16,
    /// Only requests whose path starts with this (e.g. `/api/v4/projects`).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The body; by default GitLab's `{"message":"<status> <reason>"}`.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of `body` (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Extra response headers, e.g. `Retry-After`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl FailSpec {
    pub fn new(count: u32, status: u16) -> FailSpec {
        FailSpec {
            count,
            status,
            path_prefix: None,
            body: None,
            content_type: None,
            headers: BTreeMap::new(),
        }
    }

    pub fn path_prefix(mut self, prefix: impl Into<String>) -> FailSpec {
        self.path_prefix = Some(prefix.into());
        self
    }
}

/// Close the next `count` matching connections without answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropSpec {
    pub count: u32,
    #[serde(default)]
    pub path_prefix: Option<String>,
}

#[derive(Debug, Default)]
pub struct Faults {
    pub latency: Duration,
    failures: Vec<FailSpec>,
    drops: Vec<DropSpec>,
}

fn matches(prefix: Option<&str>, path: &str) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

impl Faults {
    pub fn add_failure(&mut self, spec: FailSpec) {
        if spec.count > 0 {
            self.failures.push(spec);
        }
    }

    pub fn add_drop(&mut self, spec: DropSpec) {
        if spec.count > 0 {
            self.drops.push(spec);
        }
    }

    /// Uses up one drop for `path`, if one applies.
    pub fn take_drop(&mut self, path: &str) -> bool {
        let Some(i) = self.drops.iter().position(|d| matches(d.path_prefix.as_deref(), path)) else {
            return false;
        };
        self.drops[i].count -= 1;
        if self.drops[i].count == 0 {
            self.drops.remove(i);
        }
        true
    }

    /// Uses up one failure for `path`, if one applies.
    pub fn take_failure(&mut self, path: &str) -> Option<FailSpec> {
        let i = self
            .failures
            .iter()
            .position(|f| matches(f.path_prefix.as_deref(), path))?;
        let spec = self.failures[i].clone();
        self.failures[i].count -= 1;
        if self.failures[i].count == 0 {
            self.failures.remove(i);
        }
        Some(spec)
    }

    /// Removes latency and every pending failure and drop.
    pub fn clear(&mut self) {
        *self = Faults::default();
    }

    pub fn pending(&self) -> (u32, u32) {
        (
            self.failures.iter().map(|f| f.count).sum(),
            self.drops.iter().map(|d| d.count).sum(),
        )
    }
}
