//! GitLab's JSON entities as the simulator renders them: user, personal
//! access token, metadata, projects in the simple and full shapes,
//! protected branches and pipelines. Field
//! names and JSON types follow `tests/fixtures/gitlab/` (checked by the
//! fixture test); values come from the world or are fixed, plausible defaults.

use serde_json::{Map, Value, json};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::model::{AccessLevel, Instance, NamespaceKind, Project, ProtectedBranch, Token, User};
use super::world::World;

/// `2020-07-23T14:31:47.729Z`, GitLab's timestamp format.
pub fn timestamp(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

fn date(d: Date) -> String {
    d.to_string()
}

/// What every rendering needs: the world, who is asking, and the base URL.
pub struct View<'a> {
    pub world: &'a World,
    pub base: &'a str,
    pub user: Option<u64>,
}

impl View<'_> {
    fn host(&self) -> String {
        url::Url::parse(self.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned())
    }
}

pub fn user(view: &View<'_>, user: &User) -> Value {
    let now = view.world.now();
    let local_time = now
        .format(format_description!("[hour repr:12 padding:none]:[minute] [period]"))
        .unwrap_or_default();
    let created = timestamp(user.created_at);
    let mut out = Map::new();
    merge(
        &mut out,
        json!({
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "name": user.name,
            "state": user.state.as_str(),
            "locked": false,
            "avatar_url": format!("https://www.gravatar.com/avatar/{:032x}?s=80&d=identicon", user.id),
            "web_url": format!("{}/{}", view.base, user.username),
            "created_at": created,
            "bio": "",
            "location": null,
            "public_email": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "github": "",
            "website_url": "",
            "organization": "",
            "job_title": "",
            "pronouns": "",
            "bot": false,
            "work_information": null,
            "followers": 0,
            "following": 0,
            "local_time": local_time,
        }),
    );
    merge(
        &mut out,
        json!({
            "last_sign_in_at": timestamp(now),
            "confirmed_at": created,
            "theme_id": 1,
            "last_activity_on": date(view.world.today),
            "color_scheme_id": 1,
            "projects_limit": 100_000,
            "current_sign_in_at": timestamp(now),
            "identities": [],
            "can_create_group": true,
            "can_create_project": true,
            "two_factor_enabled": false,
            "external": false,
            "private_profile": false,
            "commit_email": user.email,
            "preferred_language": "en",
        }),
    );
    Value::Object(out)
}

/// `Entities::PersonalAccessToken` (the shape before `granular` and `last_used_ips`).
pub fn token(world: &World, token: &Token) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "revoked": token.revoked,
        "created_at": timestamp(token.created_at),
        "description": token.description,
        "scopes": token.scopes,
        "user_id": token.user_id,
        "last_used_at": token.last_used_at.map(timestamp),
        "active": token.active(world.today),
        "expires_at": token.expires_at.map(date),
    })
}

/// `Entities::PersonalAccessTokenWithToken`: the entity plus the new secret.
pub fn token_with_secret(world: &World, t: &Token) -> Value {
    let mut value = token(world, t);
    if let Value::Object(map) = &mut value {
        map.insert("token".to_owned(), Value::String(t.secret.clone()));
    }
    value
}

/// `/metadata` (and, on current GitLab, `/version`).
pub fn metadata(instance: &Instance, base: &str) -> Value {
    let ws = base.replacen("http", "ws", 1);
    json!({
        "version": instance.version,
        "revision": instance.revision,
        "kas": {
            "enabled": true,
            "externalUrl": format!("{ws}/-/kubernetes-agent/"),
            "externalK8sProxyUrl": format!("{base}/-/kubernetes-agent/k8s-proxy/"),
            "version": instance.version,
        },
        "enterprise": instance.enterprise,
    })
}

fn namespace(view: &View<'_>, project: &Project) -> Value {
    let Some(ns) = view.world.namespace(project.namespace_id) else {
        return Value::Null;
    };
    let (kind, web_url) = match ns.kind {
        NamespaceKind::User => ("user", format!("{}/{}", view.base, ns.full_path)),
        NamespaceKind::Group => ("group", format!("{}/groups/{}", view.base, ns.full_path)),
    };
    json!({
        "id": ns.id,
        "name": ns.name,
        "path": ns.path(),
        "kind": kind,
        "full_path": ns.full_path,
        "parent_id": ns.parent_id,
        "avatar_url": null,
        "web_url": web_url,
    })
}

fn name_with_namespace(view: &View<'_>, project: &Project) -> String {
    let mut names = Vec::new();
    let mut current = Some(project.namespace_id);
    while let Some(id) = current {
        let Some(ns) = view.world.namespace(id) else { break };
        names.push(ns.name.clone());
        current = ns.parent_id;
    }
    names.reverse();
    names.push(project.name.clone());
    names.join(" / ")
}

fn readme_url(view: &View<'_>, project: &Project) -> Value {
    if project.empty_repo {
        return Value::Null;
    }
    Value::String(format!(
        "{}/{}/-/blob/{}/README.md",
        view.base, project.path_with_namespace, project.default_branch
    ))
}

fn default_branch(project: &Project) -> Value {
    if project.empty_repo {
        Value::Null
    } else {
        Value::String(project.default_branch.clone())
    }
}

/// `Entities::BasicProjectDetails` (`simple=true`, and every anonymous listing).
/// `default_branch`, `readme_url` and `forks_count` only for callers who can read code.
pub fn project_simple(view: &View<'_>, project: &Project) -> Value {
    let base = view.base;
    let path = &project.path_with_namespace;
    let mut out = Map::new();
    merge(
        &mut out,
        json!({
            "id": project.id,
            "description": project.description,
            "name": project.name,
            "name_with_namespace": name_with_namespace(view, project),
            "path": project.path(),
            "path_with_namespace": path,
            "created_at": timestamp(project.created_at),
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": format!("git@{}:{path}.git", view.host()),
            "http_url_to_repo": format!("{base}/{path}.git"),
            "web_url": format!("{base}/{path}"),
            "avatar_url": null,
            "star_count": 0,
            "last_activity_at": timestamp(project.created_at),
            "namespace": namespace(view, project),
        }),
    );
    if view.world.can_download(view.user, project) {
        out.insert("default_branch".to_owned(), default_branch(project));
        out.insert("readme_url".to_owned(), readme_url(view, project));
        out.insert("forks_count".to_owned(), json!(0));
    }
    Value::Object(out)
}

/// Optional parts of the full shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// `license=true` on `GET /projects/:id`.
    pub license: bool,
    /// `statistics=true` (reporters and above only).
    pub statistics: bool,
    /// `GET /projects/:id` rather than a listing (adds `runners_token` for maintainers).
    pub single: bool,
}

/// The full project entity (listings without `simple`, and `GET /projects/:id`):
/// the union of the fields of `projects_full.json` and `project.json`.
pub fn project_full(view: &View<'_>, project: &Project, extras: Extras) -> Value {
    let mut out = match project_simple(view, project) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    out.insert("default_branch".to_owned(), default_branch(project));
    out.insert("readme_url".to_owned(), readme_url(view, project));
    out.insert("forks_count".to_owned(), json!(0));
    merge(&mut out, identity_fields(view, project));
    merge(&mut out, feature_fields(project));
    merge(&mut out, setting_fields());
    merge(&mut out, ci_fields(project));
    merge(&mut out, merge_fields());
    let access = view.user.and_then(|uid| view.world.access(uid, project));
    if let Some(owner) = personal_owner(view, project) {
        out.insert("owner".to_owned(), owner);
    }
    if extras.license {
        merge(&mut out, license_fields(view, project));
    }
    if extras.statistics && access.is_some_and(|l| l >= AccessLevel::REPORTER) {
        out.insert("statistics".to_owned(), statistics(project));
    }
    if extras.single && access.is_some_and(|l| l >= AccessLevel::MAINTAINER) {
        out.insert(
            "runners_token".to_owned(),
            json!(format!("GR1348941sim{:020}", project.id)),
        );
    }
    Value::Object(out)
}

fn identity_fields(view: &View<'_>, project: &Project) -> Value {
    let base = view.base;
    let id = project.id;
    let access = |level: Option<AccessLevel>| level.map(|l| json!({"access_level": l.0, "notification_level": 3}));
    let (project_access, group_access) = match view.user {
        Some(uid) => (
            access(view.world.project_access(uid, project)),
            access(view.world.group_access(uid, project)),
        ),
        None => (None, None),
    };
    let description = project.description.clone().unwrap_or_default();
    json!({
        "description_html": if description.is_empty() { String::new() } else { format!("<p dir=\"auto\">{description}</p>") },
        "updated_at": timestamp(project.created_at),
        "visibility": project.visibility.as_str(),
        "creator_id": project.members.keys().next().copied().unwrap_or(1),
        "archived": project.archived,
        "empty_repo": project.empty_repo,
        "marked_for_deletion_at": project.marked_for_deletion_on.map(date),
        "marked_for_deletion_on": project.marked_for_deletion_on.map(date),
        "permissions": {"project_access": project_access, "group_access": group_access},
        "open_issues_count": 0,
        "container_registry_image_prefix": format!("{}:5050/{}", view.host(), project.path_with_namespace),
        "_links": {
            "self": format!("{base}/api/v4/projects/{id}"),
            "issues": format!("{base}/api/v4/projects/{id}/issues"),
            "merge_requests": format!("{base}/api/v4/projects/{id}/merge_requests"),
            "repo_branches": format!("{base}/api/v4/projects/{id}/repository/branches"),
            "labels": format!("{base}/api/v4/projects/{id}/labels"),
            "events": format!("{base}/api/v4/projects/{id}/events"),
            "members": format!("{base}/api/v4/projects/{id}/members"),
            "cluster_agents": format!("{base}/api/v4/projects/{id}/cluster_agents"),
        },
    })
}

fn feature_fields(project: &Project) -> Value {
    let repository = project.repository_access_level.as_str();
    let issues = project.issues_access_level.as_str();
    let merge_requests = project.merge_requests_access_level.as_str();
    let builds = project.builds_access_level.as_str();
    let on = |access: &str| access != "disabled";
    json!({
        "packages_enabled": true,
        "issues_enabled": on(issues),
        "merge_requests_enabled": on(merge_requests),
        "wiki_enabled": true,
        "jobs_enabled": on(builds),
        "snippets_enabled": true,
        "container_registry_enabled": true,
        "service_desk_enabled": false,
        "service_desk_address": null,
        "can_create_merge_request_in": true,
        "issues_access_level": issues,
        "repository_access_level": repository,
        "merge_requests_access_level": merge_requests,
        "forking_access_level": repository,
        "wiki_access_level": "enabled",
        "builds_access_level": builds,
        "snippets_access_level": "enabled",
        "pages_access_level": "private",
        "analytics_access_level": "enabled",
        "container_registry_access_level": repository,
        "security_and_compliance_access_level": "private",
        "package_registry_access_level": "enabled",
        "requirements_access_level": "enabled",
    })
}

fn setting_fields() -> Value {
    json!({
        "resolve_outdated_diff_discussions": false,
        "container_expiration_policy": {
            "cadence": "1d",
            "enabled": false,
            "keep_n": 10,
            "older_than": "90d",
            "name_regex": ".*",
            "name_regex_delete": ".*",
            "name_regex_keep": "",
            "next_run_at": "2024-01-02T00:00:00.000Z",
        },
        "emails_disabled": false,
        "emails_enabled": true,
        "shared_runners_enabled": true,
        "group_runners_enabled": true,
        "lfs_enabled": true,
        "import_url": null,
        "import_type": null,
        "import_status": "none",
        "import_error": null,
        "repository_storage": "default",
        "approvals_before_merge": 0,
        "mirror": false,
        "mirror_user_id": null,
        "mirror_trigger_builds": false,
        "only_mirror_protected_branches": false,
        "mirror_overwrites_diverged_branches": false,
        "spp_repository_pipeline_access": false,
    })
}

fn ci_fields(project: &Project) -> Value {
    json!({
        "ci_default_git_depth": 20,
        "ci_forward_deployment_enabled": true,
        "ci_forward_deployment_rollback_allowed": true,
        "ci_allow_fork_pipelines_to_run_in_parent_project": true,
        "ci_id_token_sub_claim_components": ["project_path", "ref_type", "ref"],
        "ci_job_token_scope_enabled": false,
        "ci_separated_caches": true,
        "ci_restrict_pipeline_cancellation_role": "developer",
        "ci_pipeline_variables_minimum_override_role": "developer",
        "ci_push_repository_for_job_token_allowed": false,
        "ci_display_pipeline_variables": false,
        "protect_merge_request_pipelines": true,
        "public_jobs": project.public_jobs,
        "build_timeout": 3600,
        "auto_cancel_pending_pipelines": "enabled",
        "ci_config_path": "",
        "keep_latest_artifact": true,
        "runner_token_expiration_interval": null,
        "auto_devops_enabled": false,
        "auto_devops_deploy_strategy": "continuous",
    })
}

fn merge_fields() -> Value {
    json!({
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": false,
        "allow_merge_on_skipped_pipeline": false,
        "allow_pipeline_trigger_approve_deployment": false,
        "restrict_user_defined_variables": false,
        "request_access_enabled": true,
        "only_allow_merge_if_all_discussions_are_resolved": false,
        "remove_source_branch_after_merge": true,
        "printing_merge_request_link_enabled": true,
        "merge_method": "merge",
        "squash_option": "default_off",
        "enforce_auth_checks_on_uploads": true,
        "suggestion_commit_message": null,
        "merge_commit_template": null,
        "mr_default_title_template": null,
        "squash_commit_template": null,
        "issue_branch_template": null,
        "autoclose_referenced_issues": true,
        "external_authorization_classification_label": "",
        "requirements_enabled": false,
        "security_and_compliance_enabled": false,
        "secret_push_protection_enabled": false,
        "compliance_frameworks": [],
        "warn_about_potentially_unwanted_characters": true,
    })
}

/// `owner`: only projects in a user's personal namespace have one.
fn personal_owner(view: &View<'_>, project: &Project) -> Option<Value> {
    let ns = view.world.namespace(project.namespace_id)?;
    let owner = view.world.user(ns.owner_id?)?;
    Some(json!({"id": owner.id, "name": owner.name, "created_at": timestamp(owner.created_at)}))
}

fn license_fields(view: &View<'_>, project: &Project) -> Value {
    json!({
        "license_url": format!("{}/{}/-/blob/{}/LICENSE", view.base, project.path_with_namespace, project.default_branch),
        "license": {
            "key": "gpl-3.0",
            "name": "GNU General Public License v3.0",
            "nickname": "GNU GPLv3",
            "html_url": "https://choosealicense.com/licenses/gpl-3.0/",
            "source_url": "https://www.gnu.org/licenses/gpl-3.0.txt",
        },
    })
}

fn statistics(project: &Project) -> Value {
    let size = if project.empty_repo { 0 } else { 1_038_090 };
    json!({
        "commit_count": if project.empty_repo { 0 } else { 37 },
        "storage_size": size,
        "repository_size": size,
        "wiki_size": 0,
        "lfs_objects_size": 0,
        "job_artifacts_size": 0,
        "pipeline_artifacts_size": 0,
        "packages_size": 0,
        "snippets_size": 0,
        "uploads_size": 0,
        "container_registry_size": 0,
    })
}

/// `json!` has a recursion limit, so big entities are built from parts.
fn merge(target: &mut Map<String, Value>, part: Value) {
    if let Value::Object(map) = part {
        target.extend(map);
    }
}

/// `Entities::ProtectedBranch` as the protected branches API shows it, with
/// one role-based entry each for push and merge (docs/gitlab.md §15).
pub fn protected_branch(branch: &ProtectedBranch) -> Value {
    let entry = |id: u64, level: AccessLevel| {
        json!({
            "id": id,
            "access_level": level.0,
            "access_level_description": protection_description(level),
        })
    };
    json!({
        "id": branch.id,
        "name": branch.name,
        "push_access_levels": [entry(branch.push_id, branch.protection.push)],
        "merge_access_levels": [entry(branch.merge_id, branch.protection.merge)],
        "allow_force_push": false,
        "code_owner_approval_required": false,
    })
}

/// `ProtectedRefAccess`'s names for the role-based levels.
fn protection_description(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::NO_ACCESS => "No one",
        AccessLevel::DEVELOPER => "Developers + Maintainers",
        _ => "Maintainers",
    }
}

/// `Entities::Ci::PipelineBasic`: the simulator's one pipeline per project
/// with commits, a successful push pipeline on the default branch.
pub fn pipeline(view: &View<'_>, project: &Project) -> Value {
    let id = project.id * 1000 + 1;
    json!({
        "id": id,
        "iid": 1,
        "project_id": project.id,
        "sha": format!("{:040x}", project.id),
        "ref": project.default_branch,
        "status": "success",
        "source": "push",
        "created_at": timestamp(project.created_at),
        "updated_at": timestamp(project.created_at),
        "web_url": format!("{}/{}/-/pipelines/{id}", view.base, project.path_with_namespace),
    })
}
