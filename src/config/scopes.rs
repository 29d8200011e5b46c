//! Personal access token scope names GitLab knows (docs/gitlab.md §3), so a typo in
//! `required_scopes` is caught when the config loads rather than reported as
//! a missing scope forever.

pub const KNOWN: &[&str] = &[
    "api",
    "read_api",
    "read_user",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "read_virtual_registry",
    "write_virtual_registry",
    "create_runner",
    "manage_runner",
    "k8s_proxy",
    "self_rotate",
    "ai_features",
    "admin_mode",
    "read_service_ping",
    "sudo",
    "read_observability",
    "write_observability",
];

/// What a workspace needs when it does not say: read the API and clone.
pub const DEFAULT_REQUIRED: &[&str] = &["read_api", "read_repository"];

/// Scopes that grant what `scope` grants, besides itself (docs/gitlab.md §3): `api`
/// covers the read scopes and Git over HTTP for personal tokens, and
/// `write_repository` includes pulling. `read_api` cloning is only derived
/// from GitLab's code, so it is deliberately not counted here.
pub fn implied_by(scope: &str) -> &'static [&'static str] {
    match scope {
        "read_api" | "read_user" | "write_repository" | "read_registry" | "write_registry" => &["api"],
        "read_repository" => &["api", "write_repository"],
        _ => &[],
    }
}

/// The required scopes the token does not cover, in the order required.
pub fn missing<'a>(required: &'a [String], granted: &[String]) -> Vec<&'a str> {
    required
        .iter()
        .map(String::as_str)
        .filter(|r| !granted.iter().any(|g| g == r || implied_by(r).contains(&g.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn api_covers_the_read_scopes_but_read_api_does_not_cover_cloning() {
        let required = v(&["read_api", "read_repository"]);
        assert!(missing(&required, &v(&["api"])).is_empty());
        assert_eq!(missing(&required, &v(&["read_api"])), ["read_repository"]);
        assert_eq!(missing(&required, &v(&["write_repository"])), ["read_api"]);
        assert_eq!(missing(&required, &v(&[])), ["read_api", "read_repository"]);
    }
}
