//! The admin commands' answers as text for a person: one sentence saying
//! what happened, then the details, then the next command to run if any.

use std::fmt::Write;

use crate::wire::{
    Connected, Disconnected, OldTokenState, RepoPage, RepoSummary, RepoWarning, Rotated, TokenSummary, Updated,
    WatchedRepositories,
};

/// `token 'ws', id 4, scopes api, expires 2027-01-31`
fn token(t: &TokenSummary) -> String {
    let scopes = if t.scopes.is_empty() {
        "none".to_owned()
    } else {
        t.scopes.join(", ")
    };
    let expires = t
        .expires_at
        .as_deref()
        .map_or_else(|| "never expires".to_owned(), |d| format!("expires {d}"));
    format!("token '{}', id {}, scopes {scopes}, {expires}", t.name, t.id)
}

/// What a person must know once an action adopted the workspace's
/// `token_file` token into the store.
fn adopted(workspace: &str) -> String {
    format!(
        "Adopted the token from token_file into the store first: from now on labwatch uses the store's copy, \
         and the token_file of workspace {workspace} is no longer read (after a disconnect, a new token there connects it again).\n"
    )
}

pub fn connected(c: &Connected) -> String {
    let mut out = format!(
        "Connected workspace {} to {} as @{} ({}).\n",
        c.workspace,
        c.instance_url,
        c.user.username,
        token(&c.token)
    );
    if c.adopted {
        out.push_str(&adopted(&c.workspace));
    }
    if let Some(old) = &c.replaced {
        let _ = writeln!(
            out,
            "It replaces the connection of @{} on {}, whose token was not revoked: revoke it in GitLab (Preferences → Access Tokens) if nothing else uses it.",
            old.user.username, old.instance_url
        );
    }
    if c.watched.is_empty() {
        let _ = writeln!(
            out,
            "Watching: nothing yet; choose with `labwatch repos --workspace {} --set PATH...`.",
            c.workspace
        );
    } else {
        let _ = writeln!(out, "Watching: {}", c.watched.join(", "));
    }
    warnings(&mut out, &c.warnings);
    if c.accessible.is_empty() {
        out.push_str("Accessible repositories: none; the account is a member of no project.\n");
        return out;
    }
    out.push_str("Accessible repositories (page 1):\n");
    out.push_str(&table(&c.accessible));
    if let Some(next) = c.accessible_next_page {
        let _ = writeln!(out, "More: `labwatch repos --workspace {} --page {next}`", c.workspace);
    }
    out
}

/// `revoke_asked`: whether `--revoke-old` was given, to explain a `false`.
pub fn updated(u: &Updated, revoke_asked: bool) -> String {
    let mut out = format!(
        "Updated the token of workspace {}: now {} (was token id {}).\n",
        u.workspace,
        token(&u.token),
        u.previous_token_id
    );
    match (&u.revoke_error, u.old_token_revoked) {
        (Some(why), _) => {
            let _ = writeln!(out, "warning: {why}");
        }
        (None, true) => {
            let _ = writeln!(out, "The old token (id {}) is revoked at GitLab.", u.previous_token_id);
        }
        (None, false) if revoke_asked && u.previous_token_id == u.token.id => {
            out.push_str("The old token was not revoked: it is the same token.\n");
        }
        (None, false) => {
            let id = u.previous_token_id;
            let _ = match u.old_token_state {
                Some(OldTokenState::Revoked) => {
                    writeln!(
                        out,
                        "The old token (id {id}) was already revoked at GitLab: nothing to revoke."
                    )
                }
                Some(OldTokenState::Expired) => {
                    writeln!(out, "The old token (id {id}) had already expired: nothing to revoke.")
                }
                Some(OldTokenState::Rejected) => {
                    writeln!(
                        out,
                        "GitLab no longer accepts the old token (id {id}): nothing to revoke."
                    )
                }
                Some(OldTokenState::Unknown) => writeln!(
                    out,
                    "labwatch could not ask GitLab about the old token (id {id}); if it still works, revoke it in GitLab (Preferences → Access Tokens)."
                ),
                // An older daemon does not say: it was the common case.
                Some(OldTokenState::Active) | None => writeln!(
                    out,
                    "The old token (id {id}) still works until it expires; revoke it in GitLab or pass --revoke-old next time."
                ),
            };
        }
    }
    if u.adopted {
        out.push_str(&adopted(&u.workspace));
    }
    warnings(&mut out, &u.warnings);
    out
}

pub fn rotated(r: &Rotated) -> String {
    let mut out = format!(
        "Rotated the token of workspace {}: new {}.\nGitLab revoked the previous token (id {}).\n",
        r.workspace,
        token(&r.token),
        r.previous_token_id
    );
    if r.adopted {
        out.push_str(&adopted(&r.workspace));
    }
    out
}

/// `revoke_asked`: whether `--revoke` was given, to explain a `false`.
pub fn disconnected(d: &Disconnected, revoke_asked: bool) -> String {
    let what = match (d.token_revoked, revoke_asked) {
        (true, _) => "the token is revoked at GitLab.",
        (false, _) if d.lost.is_some() => "the token was not revoked:",
        (false, true) => "the token was already unusable (expired or revoked), so there was nothing to revoke.",
        (false, false) => {
            "the token still works at GitLab until it expires; revoke it there if it is no longer needed."
        }
    };
    let lost = d.lost.as_deref().map(|l| format!("{l}\n")).unwrap_or_default();
    format!(
        "Disconnected workspace {}; {what}\n{lost}Its checks now report not-connected.\n",
        d.workspace
    )
}

/// A page of `labwatch repos`; `search` and the workspace build the hint
/// for the next page.
pub fn repo_page(p: &RepoPage, workspace: &str, search: Option<&str>) -> String {
    let matching = search.map(|q| format!(" matching \"{q}\"")).unwrap_or_default();
    if p.repositories.is_empty() {
        return format!(
            "No repository{matching} is accessible to workspace {workspace} (page {}).\n",
            p.page
        );
    }
    let mut out = format!(
        "Repositories{matching} accessible to workspace {workspace} (page {}):\n",
        p.page
    );
    out.push_str(&table(&p.repositories));
    if let Some(next) = p.next_page {
        let search = search
            .map(|q| format!(" --search {}", shell_word(q)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "More: `labwatch repos --workspace {workspace}{search} --page {next}`"
        );
    }
    out
}

/// The new list, then a warning per chosen repository that its check will
/// not call ok (`warning: … (repo-archived)`) with the steps.
pub fn watched(w: &WatchedRepositories) -> String {
    let mut out = if w.repositories.is_empty() {
        format!("Workspace {} now watches no repository.\n", w.workspace)
    } else {
        format!("Workspace {} now watches: {}\n", w.workspace, w.repositories.join(", "))
    };
    if w.adopted {
        out.push_str(&adopted(&w.workspace));
    }
    warnings(&mut out, &w.warnings);
    out
}

/// One line per repository: path, visibility, access level, archived.
fn table(repos: &[RepoSummary]) -> String {
    let width = repos.iter().map(|r| r.path.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in repos {
        let visibility = r.visibility.as_deref().unwrap_or("-");
        let access = r.access.as_deref().unwrap_or("-");
        let line = format!(
            "  {:width$}  {visibility:<8}  {access}{}",
            r.path,
            if r.archived { "  archived" } else { "" }
        );
        let _ = writeln!(out, "{}", line.trim_end());
        if !r.capabilities.is_empty() {
            let words: Vec<String> = r.capabilities.iter().map(|c| c.word()).collect();
            let _ = writeln!(out, "    can: {} (* needed)", words.join(", "));
        }
    }
    out
}

/// Quotes `q` for the hint when a shell would split or expand it.
fn shell_word(q: &str) -> String {
    if q.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c)) {
        q.to_owned()
    } else {
        format!("'{}'", q.replace('\'', r"'\''"))
    }
}

/// One workspace: name, origin, whether it runs and why not, its settings.
pub fn workspace(w: &crate::wire::WorkspaceDoc) -> String {
    let state = if w.valid { "runs" } else { "does NOT run" };
    let mut out = format!("{} (origin {}, {state})\n", w.name, w.origin);
    for e in &w.errors {
        let field = if e.field.is_empty() {
            "(settings)"
        } else {
            e.field.as_str()
        };
        let _ = writeln!(out, "  error: {field}: {}", e.message);
    }
    let width = w.settings.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &w.settings {
        let _ = writeln!(out, "  {key:width$}  {}", setting(value));
    }
    if let Some(at) = &w.created_at {
        let _ = writeln!(out, "  created {at}, updated {}", w.updated_at.as_deref().unwrap_or(at));
    }
    out
}

/// A setting's value as written in a config file, lists joined.
fn setting(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) if items.is_empty() => "(none)".to_owned(),
        serde_json::Value::Array(items) => items.iter().map(setting).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", setting(v)))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// A page of the listing: one line per workspace, then where the rest is.
pub fn workspace_page(p: &crate::wire::WorkspacePage) -> String {
    if p.total == 0 {
        return "No workspaces; create one with `labwatch workspaces create NAME --instance-url URL`.\n".to_owned();
    }
    let width = p.workspaces.iter().map(|w| w.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for w in &p.workspaces {
        let instance = w.settings.get("instance_url").and_then(|v| v.as_str()).unwrap_or("-");
        let state = if w.valid {
            ""
        } else {
            "  (does NOT run: see `labwatch workspaces show`)"
        };
        let _ = writeln!(out, "{:width$}  {:6}  {instance}{state}", w.name, w.origin);
    }
    let first = (p.page - 1) * p.per_page + 1;
    let _ = write!(
        out,
        "Workspaces {first}-{} of {}",
        first + p.workspaces.len().saturating_sub(1),
        p.total
    );
    match p.next_page {
        Some(next) => {
            let _ = writeln!(
                out,
                "; next: `labwatch workspaces list --page {next} --per-page {}`",
                p.per_page
            );
        }
        None => out.push('\n'),
    }
    out
}

pub fn workspace_deleted(d: &crate::wire::WorkspaceDeleted, revoke_asked: bool) -> String {
    let mut out = format!("Deleted workspace {}", d.workspace);
    out.push_str(match (d.token_revoked, revoke_asked) {
        (true, _) => "; its token was revoked at GitLab.\n",
        (false, true) => "; it had no working token to revoke.\n",
        (false, false) => "; its token (if any) was not revoked.\n",
    });
    if !d.removed_files.is_empty() {
        let _ = writeln!(out, "Removed from the store: {}", d.removed_files.join(", "));
    }
    if let Some(lost) = &d.lost {
        let _ = writeln!(out, "Warning: {lost}");
    }
    out
}

/// A chosen repository's warnings, each with its code and numbered steps.
fn warnings(out: &mut String, warnings: &[RepoWarning]) {
    for warning in warnings {
        let _ = writeln!(out, "warning: {} ({})", warning.message, warning.code);
        for (n, step) in warning.remediation.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", n + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::UserSummary;

    fn tok(id: u64) -> TokenSummary {
        TokenSummary {
            id,
            name: "ws".into(),
            scopes: vec!["api".into()],
            expires_at: Some("2027-01-31".into()),
        }
    }

    fn repo(path: &str, archived: bool) -> RepoSummary {
        RepoSummary {
            path: path.into(),
            visibility: Some("private".into()),
            access: Some("developer".into()),
            archived,
            web_url: None,
            capabilities: Vec::new(),
        }
    }

    #[test]
    fn connected_says_who_which_token_what_is_watched_and_what_is_accessible() {
        let c = Connected {
            workspace: "acme".into(),
            instance_url: "https://gitlab.example.com".into(),
            user: UserSummary {
                id: 3,
                username: "alice".into(),
            },
            token: tok(4),
            watched: vec!["a/b".into(), "c/d".into()],
            accessible: vec![repo("a/b", false), repo("acme/old", true)],
            accessible_next_page: Some(2),
            adopted: false,
            replaced: None,
            warnings: Vec::new(),
        };
        assert_eq!(
            connected(&c),
            "Connected workspace acme to https://gitlab.example.com as @alice (token 'ws', id 4, scopes api, expires 2027-01-31).\n\
             Watching: a/b, c/d\n\
             Accessible repositories (page 1):\n  \
             a/b       private   developer\n  \
             acme/old  private   developer  archived\n\
             More: `labwatch repos --workspace acme --page 2`\n"
        );
    }

    #[test]
    fn a_next_page_hint_repeats_the_search_quoted() {
        let p = RepoPage {
            page: 1,
            next_page: Some(2),
            repositories: vec![repo("a/b", false)],
        };
        assert!(
            repo_page(&p, "acme", Some("my app"))
                .ends_with("`labwatch repos --workspace acme --search 'my app' --page 2`\n")
        );
        let empty = RepoPage {
            page: 1,
            next_page: None,
            repositories: vec![],
        };
        assert_eq!(
            repo_page(&empty, "acme", Some("x")),
            "No repository matching \"x\" is accessible to workspace acme (page 1).\n"
        );
    }

    #[test]
    fn disconnect_explains_an_unrevoked_token() {
        let d = Disconnected {
            workspace: "acme".into(),
            token_revoked: false,
            lost: None,
        };
        assert!(disconnected(&d, true).contains("already unusable"));
        assert!(disconnected(&d, false).contains("still works"));
    }

    #[test]
    fn renew_says_what_gitlab_says_of_the_old_token() {
        let with = |state| Updated {
            workspace: "acme".into(),
            token: tok(5),
            previous_token_id: 4,
            old_token_revoked: false,
            revoke_error: None,
            old_token_state: state,
            adopted: false,
            warnings: Vec::new(),
        };
        let text = |state| updated(&with(state), false);
        assert!(text(Some(OldTokenState::Active)).contains("(id 4) still works until it expires"));
        let revoked = text(Some(OldTokenState::Revoked));
        assert!(revoked.contains("(id 4) was already revoked at GitLab"), "{revoked}");
        assert!(!revoked.contains("still works"), "{revoked}");
        assert!(text(Some(OldTokenState::Expired)).contains("had already expired"));
        assert!(text(Some(OldTokenState::Rejected)).contains("no longer accepts"));
        assert!(!text(Some(OldTokenState::Unknown)).contains("still works until"));
    }
}
