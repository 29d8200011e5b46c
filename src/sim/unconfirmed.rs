//! Every simulator behaviour that `docs/gitlab.md` marks unconfirmed (or
//! only derived from reading code, never seen on the wire), gathered in one
//! place so that a capture from a real instance can correct it with a
//! one-line change. The "unconfirmed item N" notes refer to the list
//! "Unconfirmed or version-dependent" at the end of `docs/gitlab.md`.

use time::Date;

/// (Unconfirmed item 1) `WWW-Authenticate` value sent with the expired/revoked `invalid_token`
/// 401s (rack-oauth2's default realm, GitLab passes none).
pub fn invalid_token_challenge(description: &str) -> String {
    format!(r#"Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="{description}""#)
}

/// (Unconfirmed item 2) `scope` value of the 403 `insufficient_scope` body on `/version`,
/// `/metadata` and `/user` (endpoints that add `read_user` to the global
/// `api` + `read_api` rule). Order and duplicates are not confirmed.
pub const SCOPE_STRING_READ_USER: &str = "api read_api read_user";

/// (Unconfirmed item 2) `scope` value of the 403 on `POST /personal_access_tokens/self/rotate`.
pub const SCOPE_STRING_SELF_ROTATE: &str = "api self_rotate";

/// (Unconfirmed item 3) Expiry of a rotated token when the instance does *not* require expiry
/// dates and the caller gave none: the CE code leaves it empty (`None`); the
/// API docs say "the maximum allowable lifetime". `true` follows the code.
pub const ROTATE_WITHOUT_REQUIRED_EXPIRY_GIVES_NO_EXPIRY: bool = true;

/// (Unconfirmed item 3) The validation message when a rotation asks for an `expires_at` past
/// the maximum lifetime. The model error reaches the client through
/// `bad_request!(service.message)`, so it is a plain string message.
pub fn lifetime_error_message(max: Date) -> String {
    format!("400 Bad request - Expires at must be before {max}")
}

/// (Unconfirmed item 4) Offset pagination past this many projects answers 405 (historical
/// behaviour; current GitLab may no longer enforce it for projects).
/// `None` turns the limit off.
pub const PROJECT_OFFSET_LIMIT: Option<u64> = Some(50_000);

/// (Unconfirmed item 5) Body of `/-/readiness` and `/-/liveness` for a client that is neither
/// allowlisted nor presents the health-check token (the controller renders
/// the HTML not-found page; one third-party run saw JSON instead).
pub const HEALTH_NOT_ALLOWED_CONTENT_TYPE: &str = "text/html; charset=utf-8";
pub const HEALTH_NOT_ALLOWED_BODY: &str = "<!DOCTYPE html>\n<html>\n<head><title>The page you're looking for could not be found (404)</title></head>\n\
     <body><h1>404</h1><p>The page you're looking for could not be found.</p></body>\n</html>\n";

/// (Unconfirmed item 6) Layout of generated token secrets: the `glpat-` prefix and 20
/// characters (the legacy layout); routable tokens are longer.
pub const TOKEN_PREFIX: &str = "glpat-";
pub const TOKEN_RANDOM_LEN: usize = 20;

/// (Unconfirmed item 8) Whether a `read_api`-only token may clone over HTTP (derived from
/// `abilities_for_scopes`; the docs only promise `read_repository` and `api`).
pub const READ_API_CAN_CLONE: bool = true;

/// (Unconfirmed item 9) The 403 body for a blocked user on the API (the rejection reason text
/// is not confirmed).
pub const BLOCKED_USER_MESSAGE: &str = "403 Forbidden - Your account has been blocked.";

/// (Unconfirmed item 9) Git over HTTP with a blocked user's token: treated like a wrong
/// password (401 with the Basic challenge).
pub const BLOCKED_USER_GIT_IS_401: bool = true;

/// Rack::Attack's blocklist answer (failed-auth ban): plain text, and no
/// rate-limit headers.
pub const BAN_BODY: &str = "Forbidden\n";

/// Rack::Attack's throttle answer (`Gitlab::Throttle` default text; the
/// trailing newline is appended by GitLab's responder).
pub const THROTTLED_BODY: &str = "Retry later\n";

/// `page` below 1 answers 400 like `per_page` (feature flag
/// `only_positive_pagination_values`); with the flag off Kaminari would
/// silently serve page 1.
pub const POSITIVE_PAGE_REQUIRED: bool = true;

/// Instances before 16.10 have no `self` keyword: `self` is parsed as the
/// integer `:id` and fails Grape's validation with this body.
pub const NO_SELF_ROTATE_BODY: &str = r#"{"error":"id is invalid"}"#;

/// `info/refs` without a known `service` parameter (dumb HTTP is not served).
pub const GIT_UNKNOWN_SERVICE_STATUS: u16 = 403;
pub const GIT_UNKNOWN_SERVICE_BODY: &str = "Unsupported service";

/// (Unconfirmed item 13) The protocol v2 capabilities GitLab's git advertises on
/// `info/refs` (git 2.4x upload-pack's list without `agent`, whose value
/// depends on Gitaly's bundled git, and without `bundle-uri`/`object-info`,
/// which depend on its configuration).
pub const GIT_V2_CAPABILITIES: &[&str] = &[
    "version 2",
    "ls-refs=unborn",
    "fetch=shallow wait-for-done",
    "server-option",
    "object-format=sha1",
];

/// (Unconfirmed item 14) Not GitLab's behaviour but the simulator's own: a
/// push that passes every check is not stored, and each ref is reported
/// rejected with this reason (GitLab would store it).
pub const GIT_PUSH_NOT_STORED: &str = "the GitLab simulator does not store pushes";

/// (Unconfirmed item 15) A git RPC body that is not valid pkt-lines or not a
/// request git sends: git's own server dies with a message that the client
/// may never see; the simulator answers this status with the reason as text.
pub const GIT_MALFORMED_REQUEST_STATUS: u16 = 400;

/// (Unconfirmed item 16) `Gitlab::GitAccess::ERROR_MESSAGES[:archived]`, the
/// 403 body of a push to an archived project: read in the current
/// `lib/gitlab/git_access.rb`, but no commit of it could be pinned.
pub const GIT_PUSH_ARCHIVED_BODY: &str = "You can't push code to an archived project.";

/// (Unconfirmed item 17) The `min_access_level` values `GET /projects`
/// accepts: `Gitlab::Access.all_values` as read (guest, planner, reporter,
/// developer, maintainer, owner). The API documentation also lists 0, 5
/// and 25 as access levels; whether a newer `all_values` takes 25 (security
/// manager) is not confirmed.
pub const MIN_ACCESS_LEVEL_VALUES: &[u32] = &[10, 15, 20, 30, 40, 50];

/// (Unconfirmed item 18) An empty Boolean parameter (`membership=`): Grape's
/// `PrimitiveCoercer` passes `''` through uncoerced, and what it means then
/// depends on how the endpoint reads it (`present?` says not given; the
/// `archived_param` helper's truthiness test would say archived only).
/// `true` treats it as not given everywhere; `false` answers `is invalid`.
pub const EMPTY_BOOLEAN_IS_NOT_GIVEN: bool = true;

/// (Unconfirmed item 19) Who may read protected branches over the API: the
/// newest `lib/api/protected_branches.rb` read asks `authorize_read_code!`
/// (Reporters, and anyone on public projects); GitLab 10.x asked
/// `authorize_admin_project` (Maintainers). The version that changed it is
/// not known. `false` follows the newest code.
pub const PROTECTED_BRANCHES_NEED_MAINTAINER: bool = false;

/// (Unconfirmed item 20) Whether a Planner (15) may clone a private
/// project: GitLab 17.7 introduced the role below Reporter, so without code
/// access; a later merge request (gitlab-org/gitlab!212966) grants Planners
/// `download_code` on private projects. The version is not known. `false`
/// follows the role as introduced.
pub const PLANNER_CLONES_PRIVATE: bool = false;

/// (Unconfirmed item 21) A project's sub-resources (protected branches,
/// pipelines) asked for by a former path: `find_project` follows the
/// redirect route; whether these routes answer 301 like `GET /projects/:id`
/// is not known. `true` answers for the project the path now names.
pub const MOVED_PROJECT_SUBRESOURCES_FOLLOW: bool = true;
