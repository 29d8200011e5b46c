//! Git smart HTTP discovery, `GET /<path>.git/info/refs?service=…`, with
//! HTTP Basic credentials (any username, the token as password), in GitLab's
//! order of checks: credentials (401 with the Basic challenge), token scope
//! (403, before any project lookup), project visibility (404), then the
//! user's right to download or push (403).

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::sim::model::UserState;
use crate::sim::request::parse_query;
use crate::sim::shared::Sim;
use crate::sim::unconfirmed;

const NOT_FOUND: &str = "The project you were looking for could not be found or you don't have permission to view it.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    UploadPack,
    ReceivePack,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }
}

/// `group/project` of `/group/project.git/info/refs`.
pub fn repo_path(path: &str) -> Option<&str> {
    let repo = path
        .strip_suffix("/info/refs")?
        .strip_suffix(".git")?
        .trim_start_matches('/');
    repo.contains('/').then_some(repo)
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}

fn denied(base: &str) -> Response {
    let body = format!(
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect \
         or you're required to use a token instead of a password. If a token was provided, it was either \
         incorrect, expired, or improperly scoped. See {base}/help/topics/git/troubleshooting_git.md\
         #error-on-git-fetch-http-basic-access-denied"
    );
    let mut response = text(StatusCode::UNAUTHORIZED, &body);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Basic realm=\"GitLab\""),
    );
    response
}

/// `(username, password)` of a Basic `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

pub fn info_refs(sim: &Sim, method: &Method, repo: &str, query: Option<&str>, headers: &HeaderMap) -> Response {
    if method == Method::HEAD {
        return StatusCode::FORBIDDEN.into_response();
    }
    let service = match parse_query(query)
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.as_str())
    {
        Some("git-upload-pack") => Service::UploadPack,
        Some("git-receive-pack") => Service::ReceivePack,
        _ => {
            let status = StatusCode::from_u16(unconfirmed::GIT_UNKNOWN_SERVICE_STATUS).unwrap_or(StatusCode::FORBIDDEN);
            return text(status, unconfirmed::GIT_UNKNOWN_SERVICE_BODY);
        }
    };
    let base = sim.base_url();
    let mut world = sim.world();
    let user = match basic_credentials(headers) {
        None => None,
        Some((login, password)) => {
            let token = world
                .token_by_secret(&password)
                .filter(|t| t.active(world.today) && !login.trim().is_empty());
            let Some(token) = token else { return denied(base) };
            let (token_id, user_id) = (token.id, token.user_id);
            let scopes_ok = match service {
                Service::UploadPack => {
                    let mut allowed = vec!["read_repository", "write_repository", "api"];
                    if unconfirmed::READ_API_CAN_CLONE {
                        allowed.push("read_api");
                    }
                    token.has_any_scope(&allowed)
                }
                Service::ReceivePack => token.has_any_scope(&["write_repository", "api"]),
            };
            let blocked = world.user(user_id).is_none_or(|u| u.state != UserState::Active);
            if blocked && unconfirmed::BLOCKED_USER_GIT_IS_401 {
                return denied(base);
            }
            if !scopes_ok {
                let body = match service {
                    Service::UploadPack => "You are not allowed to download code.",
                    Service::ReceivePack => "You are not allowed to upload code.",
                };
                return text(StatusCode::FORBIDDEN, body);
            }
            world.touch(token_id);
            Some(user_id)
        }
    };
    let project = world
        .find_project(repo)
        .and_then(|(id, _)| world.project(id))
        .filter(|p| world.can_read(user, p));
    let Some(project) = project else {
        return match user {
            None => denied(base),
            Some(_) => text(StatusCode::NOT_FOUND, NOT_FOUND),
        };
    };
    let allowed = match (service, user) {
        (Service::UploadPack, _) => world.can_download(user, project),
        (Service::ReceivePack, Some(uid)) => world.can_push(uid, project),
        (Service::ReceivePack, None) => false,
    };
    match (allowed, user, service) {
        (true, _, _) => advertisement(service, project.id, project.empty_repo, &project.default_branch),
        // Anonymous: ask for credentials rather than refuse.
        (false, None, _) => denied(base),
        (false, Some(_), Service::UploadPack) => text(
            StatusCode::FORBIDDEN,
            "You are not allowed to download code from this project.",
        ),
        (false, Some(_), Service::ReceivePack) => text(
            StatusCode::FORBIDDEN,
            "You are not allowed to push code to this project.",
        ),
    }
}

fn pkt_line(payload: &str) -> String {
    format!("{:04x}{payload}", payload.len() + 4)
}

/// `# service=…`, flush, a ref advertisement, flush.
fn advertisement(service: Service, project_id: u64, empty: bool, branch: &str) -> Response {
    let caps = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag \
                multi_ack_detailed no-done symref=HEAD:refs/heads/";
    let mut body = pkt_line(&format!("# service={}\n", service.name()));
    body.push_str("0000");
    if empty {
        let zero = "0".repeat(40);
        body.push_str(&pkt_line(&format!("{zero} capabilities^{{}}\0{caps}{branch}\n")));
    } else {
        let sha = format!(
            "{:040x}",
            u128::from(project_id).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        );
        body.push_str(&pkt_line(&format!("{sha} HEAD\0{caps}{branch}\n")));
        body.push_str(&pkt_line(&format!("{sha} refs/heads/{branch}\n")));
    }
    body.push_str("0000");
    let content_type = format!("application/x-{}-advertisement", service.name());
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
            (header::PRAGMA, "no-cache".to_owned()),
            (header::EXPIRES, "Fri, 01 Jan 1980 00:00:00 GMT".to_owned()),
        ],
        body,
    )
        .into_response()
}
