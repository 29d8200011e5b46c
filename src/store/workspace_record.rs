//! The record of a workspace created at run time (`PUT
//! /api/v1/workspaces/{ws}`, or `connect` on an unknown workspace):
//! `<workspace>.workspace`, plain JSON beside the connection. It holds the
//! body's settings keys as they were given (the keys of a `[[workspace]]`
//! table), never a token: they are validated again at every start and
//! reload, so a change of `[defaults]` or `allowed_instances` applies.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A run-time workspace as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub workspace: String,
    /// The settings keys of the body (`instance_url`, `repositories`, …).
    pub settings: Map<String, Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
