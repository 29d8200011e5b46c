//! Who is calling: resolves a request's token the way GitLab's API guard does
//! (unknown → 401, expired before revoked, then scopes, then a blocked user),
//! including reuse detection: a revoked token used on a rotate path revokes
//! its whole family first.

use super::api_error::ApiError;
use super::request::ApiRequest;
use super::unconfirmed;
use super::world::World;

/// The scopes an endpoint accepts.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Self-inspection and self-revocation accept every scope.
    AnyScope,
    /// Any one of these scopes; the string is the 403 body's `scope`.
    OneOf(&'static [&'static str], &'static str),
}

/// GET/HEAD on ordinary endpoints (`/projects`, `/projects/:id`).
pub const READ_API: Need = Need::OneOf(&["api", "read_api"], "api read_api");
/// `/user`, `/version`, `/metadata`.
pub const READ_USER: Need = Need::OneOf(&["api", "read_api", "read_user"], unconfirmed::SCOPE_STRING_READ_USER);
/// Writes through the API (`POST /personal_access_tokens/:id/rotate`).
pub const API: Need = Need::OneOf(&["api"], "api");
/// `POST /personal_access_tokens/self/rotate`.
pub const SELF_ROTATE: Need = Need::OneOf(&["api", "self_rotate"], unconfirmed::SCOPE_STRING_SELF_ROTATE);

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: u64,
    pub token_id: u64,
}

/// `None` for an anonymous request; an error for a token that does not work.
pub fn authenticate(world: &mut World, req: &ApiRequest, need: Need) -> Result<Option<Caller>, ApiError> {
    let Some(secret) = &req.secret else {
        return Ok(None);
    };
    let Some(token) = world.token_by_secret(secret) else {
        return Err(ApiError::Unauthorized);
    };
    let (token_id, user_id) = (token.id, token.user_id);
    if token.expired(world.today) {
        return Err(ApiError::TokenExpired);
    }
    if token.revoked {
        if is_rotation_path(&req.path) {
            world.revoke_family(token_id);
        }
        return Err(ApiError::TokenRevoked);
    }
    if let Need::OneOf(scopes, scope_string) = need {
        if !token.has_any_scope(scopes) {
            return Err(ApiError::InsufficientScope(scope_string));
        }
    }
    let blocked = world
        .user(user_id)
        .is_none_or(|u| u.state != super::model::UserState::Active);
    if blocked {
        return Err(ApiError::Forbidden(unconfirmed::BLOCKED_USER_MESSAGE));
    }
    world.touch(token_id);
    Ok(Some(Caller { user_id, token_id }))
}

/// Like [`authenticate`], but anonymous requests get 401.
pub fn require(world: &mut World, req: &ApiRequest, need: Need) -> Result<Caller, ApiError> {
    authenticate(world, req, need)?.ok_or(ApiError::Unauthorized)
}

/// GitLab's `access_tokens/(\d+|self)/rotate$`.
pub fn is_rotation_path(path: &str) -> bool {
    let Some(rest) = path.trim_end_matches('/').strip_suffix("/rotate") else {
        return false;
    };
    let Some((before, id)) = rest.rsplit_once('/') else {
        return false;
    };
    let id_ok = id == "self" || (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    id_ok && before.ends_with("access_tokens")
}

#[cfg(test)]
mod tests {
    use super::is_rotation_path;

    #[test]
    fn rotation_paths() {
        assert!(is_rotation_path("/api/v4/personal_access_tokens/self/rotate"));
        assert!(is_rotation_path("/api/v4/personal_access_tokens/42/rotate"));
        assert!(is_rotation_path("/api/v4/projects/1/access_tokens/42/rotate"));
        assert!(!is_rotation_path("/api/v4/personal_access_tokens/self"));
        assert!(!is_rotation_path("/api/v4/personal_access_tokens/x1/rotate"));
    }
}
