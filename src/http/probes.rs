//! `/livez`, `/readyz` and `/health`: plain-text probes for orchestrators and
//! pollers, answering 200 or 503 with a line per problem.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::Query;
use super::{AppState, ErrorResponse};
use crate::engine::{Status, WorkspaceView};
use crate::report::{check_label, rfc3339, shown_outcome};
use crate::store::Availability;

pub async fn livez() -> Response {
    plain(StatusCode::OK, "ok\n".to_owned())
}

/// 200 once the config is loaded (it is, or we would not serve), every
/// workspace finished its first round, and the store can be reached.
/// While the store is away (PostgreSQL down), 503 `store-unavailable`:
/// checks go on with the tokens already loaded, but actions would fail, so
/// a load balancer should send them elsewhere.
pub async fn readyz(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let round = state.status.first_round_done();
    let store = state
        .store
        .as_ref()
        .map_or(Availability::Available, |s| s.availability());
    let ready = round && store == Availability::Available;
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !q.contains_key("verbose") {
        let body = match (&store, round) {
            (Availability::Unavailable { since, problem }, _) => {
                format!("store-unavailable since {}: {problem}\n", rfc3339(*since))
            }
            (Availability::Available, true) => "ok\n".to_owned(),
            (Availability::Available, false) => "first round of checks not finished\n".to_owned(),
        };
        return plain(code, body);
    }
    let mut body = match state.config.failure() {
        None => String::from("[+] config ok\n"),
        // Still ready: the daemon serves with the configuration it had.
        Some(f) => format!(
            "[-] config stale since {}: reload failed ({}); running the previous configuration\n",
            rfc3339(f.since),
            f.locations.join(", ")
        ),
    };
    match &store {
        Availability::Available => body.push_str("[+] store ok\n"),
        Availability::Unavailable { since, problem } => {
            let _ = writeln!(body, "[-] store-unavailable since {}: {problem}", rfc3339(*since));
        }
    }
    for ws in state.status.snapshot() {
        let (mark, word) = if ws.passes > 0 {
            ("[+]", "ok")
        } else {
            ("[-]", "first-round-pending")
        };
        let _ = writeln!(body, "{mark} workspace:{} {word}", ws.name);
    }
    body.push_str(if ready {
        "readyz check passed\n"
    } else {
        "readyz check failed\n"
    });
    plain(code, body)
}

/// Integration health: 503 when something is critical or unknown (other
/// than blocked, whose root cause already fails), or a warning with `strict`.
///
/// Without `verbose` only the workspaces whose tallies say a check fails are
/// looked at (`StatusStore::troubled`): a healthy fleet of ten thousand
/// workspaces costs a glance at each, not a copy of every check.
pub async fn health(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (strict, verbose) = (q.contains_key("strict"), q.contains_key("verbose"));
    let only = q.get("workspace").map(String::as_str);
    if let Some(name) = only.filter(|n| !state.status.contains(n)) {
        // Another replica's, when replicas share the fleet: its verdict.
        if let (Some(_), Some(store)) = (&state.replica, state.store.clone()) {
            let owned = name.to_owned();
            match tokio::task::spawn_blocking(move || store.read_verdicts(Some(&owned))).await {
                Ok(Ok(found)) if !found.is_empty() => {
                    let (healthy, body) = super::shared::health(&found[0].body, strict, verbose);
                    let code = if healthy {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    return plain(code, body);
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return super::shared::unavailable(&e),
                Err(_) => {}
            }
        }
        return ErrorResponse::unknown_workspace(name, &state.status.workspace_names()).into_response();
    }
    let (first_round_done, views) = if verbose {
        let views = match only {
            None => state.status.snapshot(),
            Some(name) => state.status.workspace(name).into_iter().collect(),
        };
        (views.iter().all(|w| w.passes > 0), views)
    } else {
        match state.status.troubled(only, strict) {
            Some(t) => (t.first_round_done, t.views),
            None => (true, Vec::new()),
        }
    };
    if !first_round_done {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "first round of checks not finished\n".to_owned(),
        );
    }
    let (healthy, body) = verdict(&views, strict, verbose);
    plain(
        if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        body,
    )
}

/// Whether the views are healthy, and the body listing failing (or, with
/// `verbose`, all) checks as `workspace/check status reason: summary`.
pub fn verdict(views: &[WorkspaceView], strict: bool, verbose: bool) -> (bool, String) {
    let mut healthy = true;
    let mut body = String::new();
    for ws in views {
        for c in &ws.checks {
            let o = shown_outcome(c);
            let blocked = c.state.as_ref().is_some_and(|s| s.is_blocked());
            let failing = fails(o.status, blocked, strict);
            healthy &= !failing;
            if failing || verbose {
                let _ = writeln!(
                    body,
                    "{}/{} {} {}: {}",
                    ws.name,
                    check_label(c),
                    o.status,
                    o.reason,
                    o.summary
                );
            }
        }
    }
    if healthy && body.is_empty() {
        body.push_str("ok\n");
    }
    (healthy, body)
}

/// Whether a check in `status` fails `/health`: critical, unknown unless
/// blocked (its root cause is listed already), warning with `strict`.
pub fn fails(status: Status, blocked: bool, strict: bool) -> bool {
    match status {
        Status::Ok => false,
        Status::Warning => strict,
        Status::Critical => true,
        Status::Unknown => !blocked,
    }
}

fn plain(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}
