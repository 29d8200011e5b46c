//! `/status` and `/health` when replicas share the fleet: a replica knows
//! its own workspaces' verdicts in memory and reads the others' from the
//! store, where their owners write them after each round. Every workspace
//! entry then says which replica produced it and when (`verdict`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ErrorResponse;
use crate::engine::Status;
use crate::report::rfc3339;
use crate::store::{ConnectionStore, StoreError, Verdict};

/// The whole document: this replica's workspaces and, for the others, the
/// verdicts in the store; sorted by name, with the overall status of all.
pub fn all(doc: impl serde::Serialize, replica: &str, store: &ConnectionStore) -> serde_json::Result<Vec<u8>> {
    let mut doc = serde_json::to_value(doc)?;
    let mut entries: Vec<Value> = match doc.get_mut("workspaces").map(Value::take) {
        Some(Value::Array(local)) => local.iter().map(|w| mine(w, replica)).collect(),
        _ => Vec::new(),
    };
    let local: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|w| w["name"].as_str().map(str::to_owned))
        .collect();
    // A store out of reach leaves the others out; `/readyz` says why.
    if let Ok(verdicts) = store.read_verdicts(None) {
        entries.extend(
            verdicts
                .into_iter()
                .filter(|v| !local.contains(&v.workspace))
                .map(theirs),
        );
    }
    entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let overall = entries
        .iter()
        .filter_map(|w| serde_json::from_value::<Status>(w["status"].clone()).ok())
        .max()
        .unwrap_or(Status::Unknown);
    doc["status"] = json!(overall);
    doc["workspaces"] = Value::Array(entries);
    serde_json::to_vec(&doc)
}

/// One of this replica's entries, stamped with its name and the time of
/// its latest check.
pub fn mine(entry: impl serde::Serialize, replica: &str) -> Value {
    let mut entry = serde_json::to_value(entry).unwrap_or(Value::Null);
    let at = entry["checks"].as_array().and_then(|checks| {
        checks
            .iter()
            .filter_map(|c| c["last_run"].as_str())
            .max()
            .map(str::to_owned)
    });
    entry["verdict"] = json!({"replica": replica, "at": at});
    entry
}

/// Another replica's entry, stamped with who wrote it and when.
pub fn theirs(verdict: Verdict) -> Value {
    let mut entry = verdict.body;
    entry["verdict"] = json!({"replica": verdict.replica, "at": rfc3339(verdict.at)});
    entry
}

/// The store could not be read: 503 `store-unavailable`.
pub fn unavailable(e: &StoreError) -> Response {
    ErrorResponse::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store-unavailable",
        format!(
            "This workspace is checked by another replica, whose verdict is in the store, which cannot be read now: {e}"
        ),
    )
    .into_response()
}

/// Whether another replica's entry is healthy, and its failing (or, with
/// `verbose`, all) checks as `/health` lists them.
pub fn health(entry: &Value, strict: bool, verbose: bool) -> (bool, String) {
    let mut healthy = true;
    let mut body = String::new();
    let name = entry["name"].as_str().unwrap_or_default();
    for c in entry["checks"].as_array().into_iter().flatten() {
        let status = serde_json::from_value::<Status>(c["status"].clone()).unwrap_or(Status::Unknown);
        let failing = super::probes::fails(status, !c["blocked_by"].is_null(), strict);
        healthy &= !failing;
        if failing || verbose {
            let check = match c["target"].as_str() {
                Some(t) => format!("{}[{t}]", c["check"].as_str().unwrap_or_default()),
                None => c["check"].as_str().unwrap_or_default().to_owned(),
            };
            body.push_str(&format!(
                "{name}/{check} {} {}: {}\n",
                status.as_str(),
                c["reason"].as_str().unwrap_or_default(),
                c["summary"].as_str().unwrap_or_default()
            ));
        }
    }
    if healthy && body.is_empty() {
        body.push_str("ok\n");
    }
    (healthy, body)
}
