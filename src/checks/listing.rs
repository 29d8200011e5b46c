//! The member-project listing that a round's repository checks share, and
//! [`ProjectFacts`]: the few facts about a project that the repository check
//! judges.
//!
//! A workspace may watch ten thousand repositories, and the listing lives for
//! a whole round, so what it holds per project is kept small: the facts the
//! check needs, not GitLab's project object (whose URLs, names and nested
//! permissions would triple the round's memory). Pages are folded into the
//! listing as they arrive, so a page's full objects live only while that
//! page is decoded.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::gitlab::types::Project;
use crate::gitlab::{GitlabClient, GitlabError};

/// What the repository check needs to know about a project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFacts {
    pub id: u64,
    /// `path_with_namespace`, spelt as GitLab spells it.
    pub path: Box<str>,
    /// `private`, `internal` or `public`; `None` when GitLab did not say.
    pub visibility: Option<Cow<'static, str>>,
    /// `repository_access_level` is `disabled`: the project has no repository.
    pub repository_disabled: bool,
    pub archived: bool,
    /// GitLab says the repository is empty (nothing to clone yet).
    pub empty_repo: bool,
    /// The user's effective access level (see [`Project::access_level`]).
    pub access_level: Option<u32>,
}

impl From<Project> for ProjectFacts {
    fn from(p: Project) -> Self {
        ProjectFacts {
            id: p.id,
            access_level: p.access_level(),
            visibility: p.visibility.map(|v| match v.as_str() {
                // The three values GitLab has: no copy per project.
                "private" => Cow::Borrowed("private"),
                "internal" => Cow::Borrowed("internal"),
                "public" => Cow::Borrowed("public"),
                _ => Cow::Owned(v),
            }),
            repository_disabled: p.repository_access_level.as_deref() == Some("disabled"),
            archived: p.archived,
            empty_repo: p.empty_repo == Some(true),
            path: p.path_with_namespace.into_boxed_str(),
        }
    }
}

/// The watched paths of a workspace, lower-cased (GitLab paths are
/// case-insensitive).
pub struct WatchedPaths(HashSet<Box<str>>);

impl WatchedPaths {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> WatchedPaths {
        WatchedPaths(paths.into_iter().map(|p| p.to_lowercase().into_boxed_str()).collect())
    }

    fn contains(&self, lower: &str) -> bool {
        self.0.contains(lower)
    }
}

/// The watched member projects, by lower-cased path.
#[derive(Debug, Default)]
pub struct Listing(HashMap<Box<str>, ProjectFacts>);

impl Listing {
    /// Lists every member project (one request per 100) and keeps the
    /// watched ones.
    pub async fn fetch(client: &GitlabClient, watched: &WatchedPaths) -> Result<Listing, GitlabError> {
        let mut listing = HashMap::new();
        client
            .member_projects(|p: Project| {
                let lower = p.path_with_namespace.to_lowercase();
                if watched.contains(&lower) {
                    listing.insert(lower.into_boxed_str(), ProjectFacts::from(p));
                }
            })
            .await?;
        listing.shrink_to_fit();
        Ok(Listing(listing))
    }

    /// The project at `path` (any case), when the user is a member of it.
    pub fn get(&self, path: &str) -> Option<&ProjectFacts> {
        match self.0.get(path) {
            Some(found) => Some(found),
            None if path.chars().any(char::is_uppercase) => self.0.get(path.to_lowercase().as_str()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(json: &str) -> Project {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn facts_keep_what_the_check_judges() {
        let p = project(
            r#"{"id": 7, "path_with_namespace": "Acme/API", "visibility": "private", "archived": true,
                "empty_repo": false, "repository_access_level": "disabled", "web_url": "https://x/acme/api",
                "permissions": {"project_access": {"access_level": 20}, "group_access": {"access_level": 30}}}"#,
        );
        let f = ProjectFacts::from(p);
        assert_eq!(f.id, 7);
        assert_eq!(&*f.path, "Acme/API");
        assert!(matches!(f.visibility, Some(Cow::Borrowed("private"))));
        assert!(f.repository_disabled && f.archived && !f.empty_repo);
        assert_eq!(f.access_level, Some(30));
    }

    #[test]
    fn an_unknown_visibility_is_kept_as_gitlab_wrote_it() {
        let f = ProjectFacts::from(project(
            r#"{"id": 1, "path_with_namespace": "a/b", "visibility": "secret"}"#,
        ));
        assert_eq!(f.visibility.as_deref(), Some("secret"));
        assert_eq!(f.access_level, None);
        assert!(!f.repository_disabled && !f.empty_repo);
    }

    #[test]
    fn lookups_ignore_case() {
        let mut map = HashMap::new();
        let f = ProjectFacts::from(project(r#"{"id": 1, "path_with_namespace": "Acme/API"}"#));
        map.insert("acme/api".into(), f);
        let listing = Listing(map);
        assert_eq!(listing.get("acme/api").map(|f| f.id), Some(1));
        assert_eq!(listing.get("ACME/Api").map(|f| f.id), Some(1));
        assert!(listing.get("acme/web").is_none());
        assert!(WatchedPaths::new(["Acme/API"]).contains("acme/api"));
    }
}
