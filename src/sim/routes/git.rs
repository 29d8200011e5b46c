//! Git smart HTTP (docs/gitlab.md §11): discovery,
//! `GET /<path>.git/info/refs?service=…`, and the two stateless-RPC posts,
//! `POST /<path>.git/git-upload-pack` (clone, fetch: `upload_pack`) and
//! `POST /<path>.git/git-receive-pack` (push: `receive_pack`).
//!
//! Every request is checked the same way, as GitLab's `GitHttpController`
//! runs `Gitlab::GitAccess#check` before each action: HTTP Basic
//! credentials (any username that is not blank, the token as password; 401
//! with the Basic challenge), token scope (403, before any project lookup),
//! project visibility (404), then, for a push, an archived project (403),
//! then the user's right to download or push (403).

mod receive_pack;
mod upload_pack;

use std::io::Read as _;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::sim::model::UserState;
use crate::sim::pktline;
use crate::sim::request::parse_query;
use crate::sim::shared::Sim;
use crate::sim::{git_pack, unconfirmed};

const NOT_FOUND: &str = "The project you were looking for could not be found or you don't have permission to view it.";

/// A request body larger than this after gzip decoding is refused: the
/// simulator's repository is tiny, so only a hostile client sends more.
const MAX_REQUEST_BYTES: u64 = 8 << 20;

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

/// Which git endpoint a path names, with the project path (`group/project`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint<'a> {
    InfoRefs(&'a str),
    Post(Service, &'a str),
}

fn endpoint(path: &str) -> Option<Endpoint<'_>> {
    let repo = |rest: &'static str| {
        let repo = path.strip_suffix(rest)?.strip_suffix(".git")?.trim_start_matches('/');
        repo.contains('/').then_some(repo)
    };
    if let Some(repo) = repo("/info/refs") {
        return Some(Endpoint::InfoRefs(repo));
    }
    if let Some(repo) = repo("/git-upload-pack") {
        return Some(Endpoint::Post(Service::UploadPack, repo));
    }
    repo("/git-receive-pack").map(|repo| Endpoint::Post(Service::ReceivePack, repo))
}

/// The route name the request counters use (`GET /{path}.git/info/refs`
/// without the method), or `None` for a path that is not git's.
pub fn route_template(path: &str) -> Option<&'static str> {
    match endpoint(path)? {
        Endpoint::InfoRefs(_) => Some("/{path}.git/info/refs"),
        Endpoint::Post(Service::UploadPack, _) => Some("/{path}.git/git-upload-pack"),
        Endpoint::Post(Service::ReceivePack, _) => Some("/{path}.git/git-receive-pack"),
    }
}

/// Answers a git request, or `None` when the path and method are not git's
/// (the caller answers its 404). `info/refs` takes any method, as GitLab's
/// route does (with `HEAD` refused); the RPCs are `POST` only.
pub fn handle(sim: &Sim, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    match endpoint(uri.path())? {
        Endpoint::InfoRefs(repo) => Some(info_refs(sim, method, repo, uri.query(), headers)),
        Endpoint::Post(service, repo) if method == Method::POST => Some(rpc(sim, service, repo, headers, body)),
        Endpoint::Post(..) => None,
    }
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
        HeaderValue::from_static("Basic realm=\"GitLab\""),
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

/// What the checks found: the repository to serve.
struct Granted {
    empty: bool,
    default_branch: String,
}

/// GitLab's checks for `service` on `repo`, in GitLab's order; the refusal
/// is the response to send.
fn authorize(sim: &Sim, service: Service, repo: &str, headers: &HeaderMap) -> Result<Granted, Response> {
    let base = sim.base_url();
    let mut world = sim.world();
    let user = match basic_credentials(headers) {
        None => None,
        Some((login, password)) => {
            let token = world
                .token_by_secret(&password)
                .filter(|t| t.active(world.today) && !login.trim().is_empty());
            let Some(token) = token else { return Err(denied(base)) };
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
                return Err(denied(base));
            }
            if !scopes_ok {
                let body = match service {
                    Service::UploadPack => "You are not allowed to download code.",
                    Service::ReceivePack => "You are not allowed to upload code.",
                };
                return Err(text(StatusCode::FORBIDDEN, body));
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
        return Err(match user {
            None => denied(base),
            Some(_) => text(StatusCode::NOT_FOUND, NOT_FOUND),
        });
    };
    let allowed = match (service, user) {
        (Service::UploadPack, _) => world.can_download(user, project),
        // `check_push_access!` refuses an archived project before it looks
        // at the user's role (docs/gitlab.md §11).
        (Service::ReceivePack, Some(_)) if project.archived => {
            return Err(text(StatusCode::FORBIDDEN, unconfirmed::GIT_PUSH_ARCHIVED_BODY));
        }
        (Service::ReceivePack, Some(uid)) => world.can_push(uid, project),
        (Service::ReceivePack, None) => false,
    };
    match (allowed, user, service) {
        (true, _, _) => Ok(Granted {
            empty: project.empty_repo,
            default_branch: project.default_branch.clone(),
        }),
        // Anonymous: ask for credentials rather than refuse.
        (false, None, _) => Err(denied(base)),
        (false, Some(_), Service::UploadPack) => Err(text(
            StatusCode::FORBIDDEN,
            "You are not allowed to download code from this project.",
        )),
        (false, Some(_), Service::ReceivePack) => Err(text(
            StatusCode::FORBIDDEN,
            "You are not allowed to push code to this project.",
        )),
    }
}

/// Whether the client asked for protocol v2 (`Git-Protocol: version=2`,
/// colon-separated parameters; gitprotocol-http(5)). Gitaly passes the
/// header on as `GIT_PROTOCOL`, and git answers v2 when asked.
fn wants_v2(headers: &HeaderMap) -> bool {
    headers
        .get_all("git-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(':'))
        .any(|param| param.trim() == "version=2")
}

fn info_refs(sim: &Sim, method: &Method, repo: &str, query: Option<&str>, headers: &HeaderMap) -> Response {
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
    match authorize(sim, service, repo, headers) {
        Ok(granted) => advertisement(service, &granted, wants_v2(headers)),
        Err(refusal) => refusal,
    }
}

/// `# service=…` and a flush (Gitaly writes them before git's own output,
/// for either protocol version), then the refs (v0) or, for upload-pack
/// asked for v2, the capability advertisement. receive-pack has no v2 and
/// answers v0 whatever was asked.
fn advertisement(service: Service, granted: &Granted, v2: bool) -> Response {
    let mut body = Vec::new();
    pktline::write_str(&mut body, &format!("# service={}\n", service.name()));
    body.extend_from_slice(pktline::FLUSH);
    let branch = &granted.default_branch;
    match service {
        Service::UploadPack if v2 => {
            for line in upload_pack::V2_CAPABILITIES {
                pktline::write_str(&mut body, &format!("{line}\n"));
            }
        }
        Service::UploadPack => {
            let caps = format!("{}{branch}", upload_pack::V0_CAPABILITIES);
            if granted.empty {
                let zero = "0".repeat(40);
                pktline::write_str(&mut body, &format!("{zero} capabilities^{{}}\0{caps}\n"));
            } else {
                let tip = git_pack::TIP;
                pktline::write_str(&mut body, &format!("{tip} HEAD\0{caps}\n"));
                pktline::write_str(&mut body, &format!("{tip} refs/heads/{branch}\n"));
            }
        }
        // receive-pack lists no HEAD, only the refs themselves.
        Service::ReceivePack => {
            let caps = receive_pack::CAPABILITIES;
            if granted.empty {
                let zero = "0".repeat(40);
                pktline::write_str(&mut body, &format!("{zero} capabilities^{{}}\0{caps}\n"));
            } else {
                let tip = git_pack::TIP;
                pktline::write_str(&mut body, &format!("{tip} refs/heads/{branch}\0{caps}\n"));
            }
        }
    }
    body.extend_from_slice(pktline::FLUSH);
    git_answer(&format!("application/x-{}-advertisement", service.name()), body)
}

/// 200 with git's content type and the no-cache headers git's
/// http-backend sends (GitLab's Workhorse sends the same).
fn git_answer(content_type: &str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
            (header::PRAGMA, "no-cache".to_owned()),
            (header::EXPIRES, "Fri, 01 Jan 1980 00:00:00 GMT".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A request body the simulator cannot read: 400 with the reason as text
/// (what GitLab answers to a malformed body is unconfirmed).
fn bad_request(reason: &str) -> Response {
    let status = StatusCode::from_u16(unconfirmed::GIT_MALFORMED_REQUEST_STATUS).unwrap_or(StatusCode::BAD_REQUEST);
    text(status, &format!("{reason}\n"))
}

/// The stateless-RPC posts: the same checks as `info/refs`, then the
/// service's answer.
fn rpc(sim: &Sim, service: Service, repo: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let granted = match authorize(sim, service, repo, headers) {
        Ok(granted) => granted,
        Err(refusal) => return refusal,
    };
    let body = match decoded(headers, body) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let answer = match service {
        Service::UploadPack if wants_v2(headers) => upload_pack::v2(&body, &granted),
        Service::UploadPack => upload_pack::v0(&body, &granted),
        Service::ReceivePack => receive_pack::answer(&body),
    };
    match answer {
        Ok(bytes) => git_answer(&format!("application/x-{}-result", service.name()), bytes),
        Err(Rpc::Malformed(reason)) => bad_request(&reason),
        Err(Rpc::Refused(reason)) => text(StatusCode::FORBIDDEN, &reason),
    }
}

/// Why an RPC body gets no git answer.
enum Rpc {
    /// Not a request git would send (400).
    Malformed(String),
    /// A request the simulator will not carry out (403).
    Refused(String),
}

impl From<pktline::PktError> for Rpc {
    fn from(e: pktline::PktError) -> Rpc {
        Rpc::Malformed(e.to_string())
    }
}

/// The request body, gunzipped when git compressed it (it does for bodies
/// over 1 KiB: a fetch with many `have` lines).
fn decoded(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Response> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("(not text)").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(MAX_REQUEST_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad_request(&format!("the gzip request body does not decode: {e}")))?;
            if out.len() as u64 > MAX_REQUEST_BYTES {
                return Err(bad_request(&format!(
                    "the request body is over {MAX_REQUEST_BYTES} bytes once decoded"
                )));
            }
            Ok(out)
        }
        Some(other) => Err(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Content-Encoding {other:?} is not supported (gzip is)\n"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_endpoint() {
        assert_eq!(
            endpoint("/acme/backend.git/info/refs"),
            Some(Endpoint::InfoRefs("acme/backend"))
        );
        assert_eq!(
            endpoint("/acme/sub/app.git/git-upload-pack"),
            Some(Endpoint::Post(Service::UploadPack, "acme/sub/app"))
        );
        assert_eq!(
            endpoint("/acme/app.git/git-receive-pack"),
            Some(Endpoint::Post(Service::ReceivePack, "acme/app"))
        );
        for path in [
            "/app.git/info/refs",
            "/acme/app/info/refs",
            "/acme/app.git/git-upload-archive",
            "/",
        ] {
            assert_eq!(endpoint(path), None, "{path}");
        }
        assert_eq!(
            route_template("/a/b.git/git-upload-pack"),
            Some("/{path}.git/git-upload-pack")
        );
    }

    #[test]
    fn the_protocol_header_may_carry_several_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!wants_v2(&headers));
        headers.insert("git-protocol", HeaderValue::from_static("object-format=sha1:version=2"));
        assert!(wants_v2(&headers));
        headers.insert("git-protocol", HeaderValue::from_static("version=1"));
        assert!(!wants_v2(&headers));
    }

    #[test]
    fn gzip_bodies_are_decoded_and_bounded() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"0009done\n").expect("compress");
        let compressed = gz.finish().expect("compress");
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(decoded(&headers, &compressed).ok(), Some(b"0009done\n".to_vec()));
        let refused = decoded(&headers, b"not gzip").expect_err("not gzip");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        let refused = decoded(&headers, b"x").expect_err("unknown encoding");
        assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
