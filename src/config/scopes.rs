//! Personal access token scope names GitLab knows (FACTS §3), so a typo in
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
