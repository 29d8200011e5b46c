//! The layer every non-control request passes through, in this order:
//! injected latency, injected connection drops and failures, the
//! failed-auth ban (403, no headers), the rate limit (429 `Retry later`), the
//! handler; then `RateLimit-*` headers on API answers, failed Git sign-ins
//! counted towards the ban (a successful one clears the count), and the
//! request recorded in the counters.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::time::Instant;

use super::connection::ConnInfo;
use super::counters::LoggedRequest;
use super::faults::FailSpec;
use super::limits::{Observation, Throttle};
use super::request::{credential, parse_query};
use super::routes::git;
use super::shared::Sim;
use super::unconfirmed;

enum Gate {
    Drop,
    Fail(FailSpec),
    Banned,
    Throttled(Observation),
    Pass(Option<Observation>),
}

pub async fn traffic(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/-/sim" || path.starts_with("/-/sim/") {
        return next.run(req).await;
    }
    let conn = req.extensions().get::<ConnectInfo<ConnInfo>>().map(|c| c.0.clone());
    let ip = conn.as_ref().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.addr.ip());
    let method = req.method().to_string();
    let route = route_template(&method, &path);
    let query = parse_query(req.uri().query());
    let latency = sim.traffic().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let secret = credential(req.headers(), &query);
    let git_sign_in = is_git_http(&path) && has_basic_credentials(req.headers());
    let (token_id, throttle) = {
        let world = sim.world();
        let token = secret.and_then(|s| world.token_by_secret(&s).cloned());
        let throttle = match &token {
            Some(t) if t.active(world.today) => Throttle::Token(t.id),
            _ => Throttle::Ip(ip),
        };
        (token.map(|t| t.id), throttle)
    };
    let gate = admit(&sim, &path, ip, throttle);
    let dropped = matches!(gate, Gate::Drop);
    let response = match gate {
        Gate::Drop => {
            if let Some(conn) = &conn {
                conn.kill();
            }
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Gate::Fail(spec) => failure(spec),
        Gate::Banned => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain")],
            unconfirmed::BAN_BODY,
        )
            .into_response(),
        Gate::Throttled(observation) => throttled(&observation),
        Gate::Pass(observation) => {
            let mut response = next.run(req).await;
            if let Some(observation) = observation {
                rate_headers(&mut response, &observation);
            }
            response
        }
    };
    let status = if dropped { 0 } else { response.status().as_u16() };
    let mut traffic = sim.traffic();
    // GitLab counts failed sign-ins only where Git (and the registry) sign
    // in with Basic credentials (`Gitlab::Auth.find_for_git_client`), and a
    // successful one there forgets the address's failures (docs/gitlab.md
    // §10). API token failures and anonymous requests never count.
    if git_sign_in && status == 401 {
        let limits = traffic.limits;
        traffic.ban.record_failure(ip, &limits, Instant::now());
    } else if git_sign_in && status != 0 {
        traffic.ban.forgive(ip);
    }
    traffic.recorder.record(LoggedRequest {
        seq: 0,
        method,
        path,
        query: redacted(&query),
        route,
        status,
        token_id,
        client_ip: ip.to_string(),
    });
    response
}

fn admit(sim: &Sim, path: &str, ip: IpAddr, throttle: Throttle) -> Gate {
    let now = Instant::now();
    let mut traffic = sim.traffic();
    if traffic.faults.take_drop(path) {
        return Gate::Drop;
    }
    if let Some(spec) = traffic.faults.take_failure(path) {
        return Gate::Fail(spec);
    }
    // Probes are exempt from Rack Attack.
    let probe = path.starts_with("/-/");
    if !probe && traffic.ban.is_banned(ip, now) {
        return Gate::Banned;
    }
    if !path.starts_with("/api/") {
        return Gate::Pass(None);
    }
    let limits = traffic.limits;
    let observation = traffic.limiter.observe(throttle, &limits, now);
    if observation.exceeded {
        Gate::Throttled(observation)
    } else {
        Gate::Pass(Some(observation))
    }
}

/// Git smart HTTP (`/<path>.git/info/refs`, `/<path>.git/git-upload-pack`, …).
fn is_git_http(path: &str) -> bool {
    path.contains(".git/")
}

/// `Authorization: Basic …`, how Git sends a username and password.
fn has_basic_credentials(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
}

/// The route template a path counts under (`GET /api/v4/projects/{id}`),
/// so counters stay bounded however many projects there are.
fn route_template(method: &str, path: &str) -> String {
    const EXACT: [&str; 8] = [
        "/api/v4/version",
        "/api/v4/metadata",
        "/api/v4/user",
        "/api/v4/personal_access_tokens/self",
        "/api/v4/personal_access_tokens/self/rotate",
        "/api/v4/projects",
        "/-/health",
        "/-/readiness",
    ];
    let template = if EXACT.contains(&path) || path == "/-/liveness" {
        path.to_owned()
    } else if path
        .strip_prefix("/api/v4/personal_access_tokens/")
        .and_then(|rest| rest.strip_suffix("/rotate"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    {
        "/api/v4/personal_access_tokens/{id}/rotate".to_owned()
    } else if path
        .strip_prefix("/api/v4/projects/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    {
        "/api/v4/projects/{id}".to_owned()
    } else if let Some(template) = project_resource_template(path) {
        template.to_owned()
    } else if let Some(template) = token_and_user_template(path) {
        template.to_owned()
    } else if let Some(template) = git::route_template(path) {
        template.to_owned()
    } else if path.starts_with("/api/") {
        "/api/(unknown)".to_owned()
    } else {
        "(unknown)".to_owned()
    };
    format!("{method} {template}")
}

/// A project's protected branches (the list or one) and pipelines.
fn project_resource_template(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v4/projects/")?;
    let (id, resource) = rest.split_once('/')?;
    if id.is_empty() {
        return None;
    }
    match resource.split_once('/') {
        None if resource == "protected_branches" => Some("/api/v4/projects/{id}/protected_branches"),
        None if resource == "pipelines" => Some("/api/v4/projects/{id}/pipelines"),
        Some(("protected_branches", name)) if !name.is_empty() && !name.contains('/') => {
            Some("/api/v4/projects/{id}/protected_branches/{name}")
        }
        _ => None,
    }
}

/// `/personal_access_tokens`, `/users` and one of either by id.
fn token_and_user_template(path: &str) -> Option<&'static str> {
    let one = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    match path {
        "/api/v4/personal_access_tokens" => Some("/api/v4/personal_access_tokens"),
        "/api/v4/users" => Some("/api/v4/users"),
        _ if one("/api/v4/personal_access_tokens/") => Some("/api/v4/personal_access_tokens/{id}"),
        _ if one("/api/v4/users/") => Some("/api/v4/users/{id}"),
        _ => None,
    }
}

fn redacted(query: &[(String, String)]) -> Option<String> {
    if query.is_empty() {
        return None;
    }
    let pairs = query.iter().map(|(k, v)| {
        let value = if k == "private_token" { "[REDACTED]" } else { v.as_str() };
        (k.as_str(), value)
    });
    Some(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish(),
    )
}

fn failure(spec: FailSpec) -> Response {
    let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = spec.body.unwrap_or_else(|| {
        let reason = status.canonical_reason().unwrap_or("Error");
        serde_json::json!({"message": format!("{} {reason}", status.as_u16())}).to_string()
    });
    let content_type = spec.content_type.unwrap_or_else(|| "application/json".to_owned());
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    for (name, value) in spec.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn set(response: &mut Response, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

fn rate_headers(response: &mut Response, o: &Observation) {
    set(response, "ratelimit-name", o.name.to_owned());
    set(response, "ratelimit-limit", o.limit.to_string());
    set(response, "ratelimit-observed", o.observed.to_string());
    set(response, "ratelimit-remaining", o.remaining.to_string());
    set(response, "ratelimit-reset", o.reset_at.to_string());
}

fn throttled(o: &Observation) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain")],
        unconfirmed::THROTTLED_BODY,
    )
        .into_response();
    rate_headers(&mut response, o);
    set(&mut response, "retry-after", o.reset_in.to_string());
    let reset = i64::try_from(o.reset_at)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            ))
            .ok()
        })
        .unwrap_or_default();
    set(&mut response, "ratelimit-resettime", reset);
    response
}
