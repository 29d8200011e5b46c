//! The member-project listing that a round's repository checks share, and
//! [`ProjectFacts`]: the few facts about a project that the repository check
//! judges.
//!
//! A user may be a member of ten thousand projects and watch three. The
//! listing costs a request per 100 member projects, reading a watched
//! project directly costs one: so the listing is read only as far as it is
//! the cheaper way. [`Listing::fetch`] stops at the page where every
//! watched project was found, or where fewer are still missing than pages
//! are left (the repository checks read those directly, as they always read
//! what the listing does not hold); and [`ListingCache`] skips the listing
//! altogether when reading each watched project cost less than the last
//! listing did. With M member projects (P = ceil(M/100) pages), W watched
//! projects of which N are not among them (public or internal projects the
//! user only sees, missing or moved paths), the project requests of a round
//! are (docs/checks.md, "What a round costs"):
//!
//! - the first round of a workspace (nothing learnt yet): at most
//!   `min(W + 1, P) + N`, and at most `W + 1` when GitLab counted the
//!   listing (M ≤ 10,000) and `W + 1 < P`;
//! - every later round: at most `min(W, C)`, where C is what the last
//!   listing read cost (≤ P + N): `min(W, P)` for watched projects the
//!   user is a member of, as long as the membership has not shrunk since.
//!
//! A workspace may watch ten thousand repositories, and the listing lives for
//! a whole round, so what it holds per project is kept small: the facts the
//! check needs, not GitLab's project object (whose URLs, names and nested
//! permissions would triple the round's memory). Pages are folded into the
//! listing as they arrive, so a page's full objects live only while that
//! page is decoded.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::{RepositoryRef, WorkspaceConfig};
use crate::gitlab::api::PageAt;
use crate::gitlab::capabilities::{Facts, FeatureAccess, Features, Visibility};
use crate::gitlab::types::Project;
use crate::gitlab::{GitlabClient, GitlabError};

/// Pages of a listing GitLab no longer counts: it counts up to 10,000 rows
/// (docs/gitlab.md §7), 100 a page, so a first page without
/// `X-Total-Pages` means at least 101 pages.
const UNCOUNTED_PAGES: u32 = 10_000 / 100 + 1;

/// What the repository check needs to know about a project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFacts {
    pub id: u64,
    /// `path_with_namespace`, spelt as GitLab spells it.
    pub path: Box<str>,
    /// `private`, `internal` or `public`; `None` when GitLab did not say.
    pub visibility: Option<Cow<'static, str>>,
    /// The four feature access levels a capability verdict reads (a byte
    /// each); `features.repository` disabled: the project has no repository.
    pub features: Features,
    /// "Public pipelines" (`public_jobs`; GitLab's default, on, when the
    /// answer does not say).
    pub public_jobs: bool,
    pub archived: bool,
    /// GitLab says the repository is empty (nothing to clone yet).
    pub empty_repo: bool,
    /// The user's effective access level (see [`Project::access_level`]).
    pub access_level: Option<u32>,
    /// The branch whose protection the push probe reads; `None` for an
    /// empty repository.
    pub default_branch: Option<Box<str>>,
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
            features: Features {
                repository: FeatureAccess::parse(p.repository_access_level.as_deref()),
                issues: FeatureAccess::parse(p.issues_access_level.as_deref()),
                merge_requests: FeatureAccess::parse(p.merge_requests_access_level.as_deref()),
                builds: FeatureAccess::parse(p.builds_access_level.as_deref()),
            },
            public_jobs: p.public_jobs.unwrap_or(true),
            archived: p.archived,
            empty_repo: p.empty_repo == Some(true),
            path: p.path_with_namespace.into_boxed_str(),
            default_branch: p.default_branch.map(String::into_boxed_str),
        }
    }
}

impl ProjectFacts {
    /// The repository feature is disabled: the project has no repository.
    pub fn repository_disabled(&self) -> bool {
        self.features.repository == FeatureAccess::Disabled
    }

    /// What a capability verdict is judged from, with the token's `scopes`.
    pub fn facts(&self, scopes: &[String]) -> Facts {
        Facts {
            scopes: scopes.to_vec(),
            access_level: self.access_level,
            visibility: Visibility::parse(self.visibility.as_deref()),
            archived: self.archived,
            features: self.features,
            public_jobs: self.public_jobs,
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

    /// The repositories `ws` watches on its own instance: one given as a
    /// URL on another host is never in its listing (nor read at all).
    pub fn of(ws: &WorkspaceConfig) -> WatchedPaths {
        let ours = RepositoryRef::host_of(&ws.instance_url);
        let on_ours = |r: &&RepositoryRef| r.host.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(&ours));
        WatchedPaths::new(ws.repositories.iter().filter(on_ours).map(|r| r.path.as_str()))
    }

    fn contains(&self, lower: &str) -> bool {
        self.0.contains(lower)
    }

    /// W: how many projects reading each directly costs.
    fn count(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
}

/// A workspace's listing for the current round, and what reading the last
/// one cost, for choosing how to read the next.
#[derive(Default)]
pub struct ListingCache {
    /// (round, token generation, result), reused within the round.
    current: Option<(u64, u64, Result<Arc<Listing>, GitlabError>)>,
    /// Project requests the last listing read cost: its pages, plus the
    /// watched projects it did not hold (each then read directly).
    last_cost: Option<u32>,
}

impl ListingCache {
    /// The round's listing: read once per round and token; empty (every
    /// watched project read directly) when that costs less than the last
    /// listing did.
    pub async fn get(
        &mut self,
        client: &GitlabClient,
        watched: &WatchedPaths,
        round: u64,
    ) -> Result<Arc<Listing>, GitlabError> {
        let generation = client.token_generation();
        if let Some((r, g, result)) = &self.current {
            if *r == round && *g == generation {
                return result.clone();
            }
        }
        // The last round's listing is done with (rounds of a workspace never
        // overlap): let it go before the new one is built, not after, so a
        // large workspace never holds two.
        self.current = None;
        let result = if self.last_cost.is_some_and(|cost| watched.count() < cost) {
            Ok(Arc::new(Listing::default()))
        } else {
            let read = Listing::fetch(client, watched).await;
            read.map(|(listing, cost)| {
                self.last_cost = Some(cost);
                Arc::new(listing)
            })
        };
        self.current = Some((round, generation, result.clone()));
        result
    }
}

/// The watched member projects, by lower-cased path.
#[derive(Debug, Default)]
pub struct Listing(HashMap<Box<str>, ProjectFacts>);

impl Listing {
    /// Reads member projects page by page (100 each, in id order) and keeps
    /// the watched ones, until every watched project was found, the listing
    /// ends, or fewer watched projects are missing than pages are left (at
    /// least 101 when GitLab did not count: more than 10,000 projects).
    /// Returns the listing and what it cost: its pages plus the watched
    /// projects still missing, which the repository checks read directly.
    /// Each page's full objects live only while the page is folded in.
    pub async fn fetch(client: &GitlabClient, watched: &WatchedPaths) -> Result<(Listing, u32), GitlabError> {
        let wanted = watched.count();
        let mut listing = HashMap::new();
        let (mut pages, mut pages_in_all, mut last_id) = (0u32, None, None);
        let mut at = PageAt::Offset(1);
        let missing = loop {
            // Past GitLab's offset limit for projects (50,000, docs/gitlab.md
            // §7) keyset pagination goes on from the last project read.
            let keyset = match at {
                PageAt::Offset(n) if n > 1 => last_id.map(PageAt::After),
                _ => None,
            };
            let page = match (client.member_listing_page(at).await, keyset) {
                (Err(GitlabError::Unexpected { status: 405 }), Some(keyset)) => {
                    at = keyset;
                    continue;
                }
                (page, _) => page?,
            };
            pages += 1;
            if pages == 1 {
                pages_in_all = Some(page.total_pages.unwrap_or(UNCOUNTED_PAGES));
            }
            for p in page.projects {
                last_id = Some(p.id);
                let lower = p.path_with_namespace.to_lowercase();
                if watched.contains(&lower) {
                    listing.insert(lower.into_boxed_str(), ProjectFacts::from(p));
                }
            }
            let missing = wanted.saturating_sub(u32::try_from(listing.len()).unwrap_or(u32::MAX));
            let left = pages_in_all.unwrap_or(0).saturating_sub(pages).max(1);
            match page.next {
                Some(next) if missing > 0 && missing >= left => at = next,
                _ => break missing,
            }
        };
        listing.shrink_to_fit();
        Ok((Listing(listing), pages.saturating_add(missing)))
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
        assert!(f.repository_disabled() && f.archived && !f.empty_repo);
        assert_eq!(f.access_level, Some(30));
    }

    #[test]
    fn an_unknown_visibility_is_kept_as_gitlab_wrote_it() {
        let f = ProjectFacts::from(project(
            r#"{"id": 1, "path_with_namespace": "a/b", "visibility": "secret"}"#,
        ));
        assert_eq!(f.visibility.as_deref(), Some("secret"));
        assert_eq!(f.access_level, None);
        assert!(!f.repository_disabled() && !f.empty_repo);
        assert!(f.public_jobs, "GitLab's default when the answer does not say");
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

    /// A listing that goes past GitLab's offset limit: page 2 answers 405,
    /// and the listing goes on with keyset pagination after the last id of
    /// page 1 (docs/gitlab.md §7). The simulator holds that limit at 50,000
    /// projects, too many for a unit test: this server answers just so.
    #[tokio::test]
    async fn past_the_offset_limit_the_listing_goes_on_with_keyset() {
        use axum::extract::Query;
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use std::sync::Mutex;

        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let projects = |ids: std::ops::RangeInclusive<u64>| {
            let list: Vec<_> = ids
                .map(|id| serde_json::json!({"id": id, "path_with_namespace": format!("g/p{id}")}))
                .collect();
            axum::Json(list)
        };
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/api/v4/projects",
            axum::routing::get(move |Query(q): Query<HashMap<String, String>>| async move {
                let get = |k: &str| q.get(k).cloned().unwrap_or_default();
                log.lock()
                    .unwrap()
                    .push(format!("page={} id_after={}", get("page"), get("id_after")));
                match (get("pagination").as_str(), get("page").as_str()) {
                    ("keyset", _) if get("id_after") == "100" => projects(101..=103).into_response(),
                    ("", "1") => ([("x-next-page", "2"), ("x-total-pages", "2")], projects(1..=100)).into_response(),
                    _ => (
                        StatusCode::METHOD_NOT_ALLOWED,
                        axum::Json(serde_json::json!({"error": "Offset pagination has a maximum allowed offset"})),
                    )
                        .into_response(),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = GitlabClient::new(crate::gitlab::ClientOptions {
            workspace: "acme",
            base: &base,
            instance: std::sync::Arc::new(
                crate::gitlab::Instance::new(
                    crate::tls::client_config(None).unwrap(),
                    std::sync::Arc::new(crate::gitlab::InstanceBudget::new(Default::default())),
                )
                .unwrap(),
            ),
            requests_per_second: 100.0,
            timeout: std::time::Duration::from_secs(10),
            token: Some(secrecy::SecretString::from("glpat-test".to_owned())),
            metrics: crate::gitlab::GitlabMetrics::new(),
        });

        let watched = WatchedPaths::new(["g/p50", "g/p101", "g/p102", "g/p103"]);
        let (listing, cost) = Listing::fetch(&client, &watched).await.unwrap();
        for p in ["g/p50", "g/p101", "g/p102", "g/p103"] {
            assert!(listing.get(p).is_some(), "{p}");
        }
        assert_eq!(cost, 2, "two pages read, nothing left to read directly");
        assert_eq!(
            *seen.lock().unwrap(),
            ["page=1 id_after=", "page=2 id_after=", "page= id_after=100"]
        );
    }

    #[test]
    fn a_repository_on_another_instance_is_not_counted_as_watched_here() {
        let text = r#"
            [[workspace]]
            name = "acme"
            instance_url = "https://gitlab.example.com"
            repositories = ["acme/api", "https://GitLab.example.com/acme/web", "https://gitlab.com/other/lib"]
        "#;
        let config = crate::config::Config::parse(std::path::Path::new("t.toml"), text).unwrap();
        let watched = WatchedPaths::of(&config.workspaces[0]);
        assert_eq!(watched.count(), 2, "the listing can hold two of the three");
        assert!(watched.contains("acme/api") && watched.contains("acme/web"));
        assert!(!watched.contains("other/lib"));
    }
}
