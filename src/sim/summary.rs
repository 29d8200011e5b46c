//! What `labwatch sim` shows at start: the users with their (fake) tokens and
//! the projects with their members, as JSON (`--summary-json`) and as text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::model::{AccessLevel, NamespaceKind};
use super::world::World;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The simulated date that decides expiry.
    pub today: String,
    /// The GitLab version the simulator reports.
    pub version: String,
    pub users: Vec<UserSummary>,
    pub groups: Vec<GroupSummary>,
    pub projects: Vec<ProjectSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub user_id: u64,
    pub state: String,
    pub tokens: Vec<TokenSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSummary {
    /// The plaintext secret: fake, printed so a person can try connecting.
    pub token: String,
    pub id: u64,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub full_path: String,
    pub members: Vec<MemberSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub id: u64,
    pub path_with_namespace: String,
    pub visibility: String,
    pub archived: bool,
    pub repository_access_level: String,
    /// Former paths that redirect to this project.
    pub moved_from: Vec<String>,
    pub members: Vec<MemberSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub username: String,
    pub access_level: u32,
    pub role: String,
}

impl Summary {
    pub(crate) fn of(world: &World) -> Summary {
        let members = |list: &mut dyn Iterator<Item = (&u64, &AccessLevel)>| -> Vec<MemberSummary> {
            list.filter_map(|(uid, level)| {
                world.user(*uid).map(|u| MemberSummary {
                    username: u.username.clone(),
                    access_level: level.0,
                    role: level.name(),
                })
            })
            .collect()
        };
        // Tokens grouped by owner in one pass: a generated world has as
        // many tokens as users, and a scan per user would be quadratic.
        let mut tokens: BTreeMap<u64, Vec<TokenSummary>> = BTreeMap::new();
        for t in world.tokens() {
            tokens.entry(t.user_id).or_default().push(TokenSummary {
                token: t.secret.clone(),
                id: t.id,
                name: t.name.clone(),
                scopes: t.scopes.clone(),
                expires_at: t.expires_at.map(|d| d.to_string()),
                active: t.active(world.today),
            });
        }
        let users = world
            .users()
            .map(|user| UserSummary {
                username: user.username.clone(),
                user_id: user.id,
                state: user.state.as_str().to_owned(),
                tokens: tokens.remove(&user.id).unwrap_or_default(),
            })
            .collect();
        let mut groups = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for project in world.projects() {
            let mut current = Some(project.namespace_id);
            while let Some(id) = current {
                let Some(ns) = world.namespace(id) else { break };
                if ns.kind == NamespaceKind::Group && !ns.members.is_empty() && seen.insert(id) {
                    groups.push(GroupSummary {
                        full_path: ns.full_path.clone(),
                        members: members(&mut ns.members.iter()),
                    });
                }
                current = ns.parent_id;
            }
        }
        let projects = world
            .projects()
            .map(|p| {
                // The owner of a personal namespace owns its projects without a membership.
                let owner = world.namespace(p.namespace_id).and_then(|ns| ns.owner_id);
                let mut direct = p.members.clone();
                if let Some(uid) = owner {
                    direct.entry(uid).or_insert(AccessLevel::OWNER);
                }
                ProjectSummary {
                    id: p.id,
                    path_with_namespace: p.path_with_namespace.clone(),
                    visibility: p.visibility.as_str().to_owned(),
                    archived: p.archived,
                    repository_access_level: p.repository_access_level.as_str().to_owned(),
                    moved_from: world.redirects_to(p.id),
                    members: members(&mut direct.iter()),
                }
            })
            .collect();
        Summary {
            today: world.today.to_string(),
            version: world.instance.version.clone(),
            users,
            groups,
            projects,
        }
    }

    /// The human-readable form `labwatch sim` prints at start.
    pub fn text(&self, listen_url: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "GitLab simulator (GitLab {}) listening on {listen_url}\nSimulated date: {}\n",
            self.version, self.today
        );
        let _ = writeln!(out, "Users and their tokens (fake tokens, for trying labwatch):");
        for user in &self.users {
            let blocked = if user.state == "active" { "" } else { " [blocked]" };
            let _ = writeln!(out, "  {} (id {}){blocked}", user.username, user.user_id);
            for t in &user.tokens {
                let expiry = t
                    .expires_at
                    .as_deref()
                    .map_or("never expires".to_owned(), |d| format!("expires {d}"));
                let state = if t.active { "active" } else { "inactive" };
                let _ = writeln!(
                    out,
                    "    {}  \"{}\"  scopes: {}  {expiry}  {state}",
                    t.token,
                    t.name,
                    t.scopes.join(", ")
                );
            }
        }
        if !self.groups.is_empty() {
            let _ = writeln!(out, "\nGroups:");
            for g in &self.groups {
                let _ = writeln!(out, "  {}  members: {}", g.full_path, member_list(&g.members));
            }
        }
        let _ = writeln!(out, "\nProjects:");
        for p in &self.projects {
            let mut notes = vec![p.visibility.clone()];
            if p.archived {
                notes.push("archived".to_owned());
            }
            if p.repository_access_level != "enabled" {
                notes.push(format!("repository {}", p.repository_access_level));
            }
            if !p.moved_from.is_empty() {
                notes.push(format!("moved from {}", p.moved_from.join(", ")));
            }
            let _ = writeln!(
                out,
                "  {} (id {})  {}  members: {}",
                p.path_with_namespace,
                p.id,
                notes.join(", "),
                member_list(&p.members)
            );
        }
        out
    }
}

fn member_list(members: &[MemberSummary]) -> String {
    if members.is_empty() {
        return "none".to_owned();
    }
    members
        .iter()
        .map(|m| format!("{} ({})", m.username, m.role))
        .collect::<Vec<_>>()
        .join(", ")
}
