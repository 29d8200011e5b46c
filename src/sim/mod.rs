//! The GitLab simulator: an axum server that answers every call labwatch makes
//! the way real GitLab does (`docs/gitlab.md`), so tests,
//! `labwatch sim` and `labwatch demo` need no real instance.
//!
//! A map of the module:
//!
//! - [`model`]: records (users, tokens, namespaces, projects with their
//!   feature access levels and protected branches, instance settings, limits); `world`: their indexes and rules (expiry against the
//!   simulated *today*, token families, moves with redirects, who sees what).
//! - [`spec`]: inputs that create records; [`scenario`]: the TOML scenario and
//!   the builder API (`generate`: its `[[generate]]` tables); [`summary`]: what `labwatch sim` prints at start.
//! - `routes`: the GitLab routes (`/api/v4/…`, `/-/health`, `/-/readiness`,
//!   `/-/liveness`, git smart HTTP under `/<path>.git/`) and the control API;
//!   `auth`, `request`, `pagination`, `render` and `api_error` are their
//!   building blocks, `pktline` and `git_pack` (the served repository) git's.
//! - `traffic`: latency, injected failures and drops, the failed-auth ban,
//!   rate limits and `RateLimit-*` headers, request counters ([`counters`]).
//! - `membership`: who reaches which project without a group, so that a
//!   membership listing need not judge every project.
//! - [`unconfirmed`]: every behaviour docs/gitlab.md could not confirm, in one place.
//! - [`start`] / [`SimHandle`]: serving; [`Sim`]: the state and its operations.
//!
//! # Using it from Rust
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use labwatch::sim::{self, ProjectSpec, Scenario, TokenSpec, UserSpec, AccessLevel};
//! let mut scenario = Scenario::empty();
//! scenario.add_user(UserSpec::new("alice"))?;
//! let token = scenario.add_token(TokenSpec::new("alice", "ws").scopes(&["api"]))?;
//! scenario.add_project(ProjectSpec::new("acme/app").member("alice", AccessLevel::DEVELOPER))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let gitlab = sim::start(scenario, listener).await?;
//! // … point labwatch at gitlab.base_url() with token.token …
//! gitlab.revoke_token(token.id)?;
//! assert_eq!(gitlab.counters().status(401), 0);
//! gitlab.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # Control API (`/-/sim/…`, JSON, no authentication)
//!
//! Not subject to latency, faults, limits or counters. `{token}` is a token
//! id or secret; `{project}` an id or a URL-encoded path; errors are
//! `{"error": "…"}` with 400 (bad input) or 404 (no such record).
//!
//! | request | body | does |
//! |---|---|---|
//! | `GET /-/sim/summary` | | users with tokens, groups, projects (the `labwatch sim` summary) |
//! | `GET`/`PUT /-/sim/today` | `{"today":"YYYY-MM-DD"}` or `{"advance_days":N}` | the simulated date |
//! | `GET`/`PATCH /-/sim/instance` | e.g. `{"self_rotate":false}` | instance settings ([`Instance`]) |
//! | `GET`/`PATCH /-/sim/limits` | e.g. `{"authenticated_per_minute":5}` | budgets and ban ([`Limits`]) |
//! | `DELETE /-/sim/bans` | | forget bans, failed-auth counts and rate windows |
//! | `PUT /-/sim/latency` | `{"ms":250}` | delay every non-control request |
//! | `GET`/`DELETE /-/sim/faults` | | pending faults / clear latency and faults |
//! | `POST /-/sim/faults/fail` | `{"count":2,"status":503,"path_prefix"?,"body"?,"content_type"?,"headers"?}` | fail the next N requests |
//! | `POST /-/sim/faults/drop` | `{"count":1,"path_prefix"?}` | close the next N connections unanswered |
//! | `GET`/`DELETE /-/sim/counters` | | [`Counters`] (`total`, `by_route`, `by_status`, `recent`) / reset |
//! | `POST /-/sim/users` | a scenario `[[users]]` entry | add a user (and tokens) |
//! | `PUT /-/sim/users/{user}/state` | `{"state":"blocked"}` | block / unblock |
//! | `POST /-/sim/users/{user}/tokens` | a scenario `[[users.tokens]]` entry | add a token (201, with secret) |
//! | `POST /-/sim/groups` | a scenario `[[groups]]` entry | add a group |
//! | `GET /-/sim/tokens/{token}` | | the token ([`TokenInfo`]) |
//! | `POST /-/sim/tokens/{token}/expire` | | expired as of today |
//! | `POST /-/sim/tokens/{token}/revoke` | | revoked |
//! | `POST /-/sim/tokens/{token}/rotate` | `{"expires_at"?}` | rotated as GitLab would; answers the new token |
//! | `PUT /-/sim/tokens/{token}/scopes` | `{"scopes":["read_api"]}` | rescope |
//! | `PUT /-/sim/tokens/{token}/expires_at` | `{"expires_at":"YYYY-MM-DD"\|null}` | new expiry |
//! | `POST /-/sim/projects` | a scenario `[[projects]]` entry | add a project (201) |
//! | `POST /-/sim/projects/{project}/move` | `{"to":"group/new-path"}` | move; the old path answers 301 |
//! | `POST /-/sim/projects/{project}/archive`, `…/unarchive` | | archive state |
//! | `PUT /-/sim/projects/{project}/visibility` | `{"visibility":"public"}` | visibility |
//! | `PUT /-/sim/projects/{project}/repository_access_level` | `{"repository_access_level":"disabled"}` | repository feature |
//! | `PUT`/`DELETE /-/sim/projects/{project}/members/{user}` | `{"access_level":30}` or `"developer"` | membership |
//!
//! Counters key routes by template, e.g. `GET /api/v4/projects/{id}`, `GET
//! /{path}.git/info/refs`, `GET /api/(unknown)`; dropped connections count
//! under status `"dropped"` (0 in the log). The log never holds a secret: it
//! names the token by id and redacts `private_token`.

mod api_error;
mod auth;
mod connection;
pub mod counters;
mod error;
mod faults;
mod generate;
mod git_pack;
mod limits;
mod membership;
pub mod model;
mod pagination;
mod pktline;
mod render;
mod request;
mod routes;
pub mod scenario;
mod server;
mod shared;
mod similarity;
pub mod spec;
pub mod summary;
mod traffic;
pub mod unconfirmed;
mod world;

pub use counters::{Counters, LoggedRequest};
pub use error::SimError;
pub use faults::{DropSpec, FailSpec};
pub use model::{AccessLevel, FeatureAccess, Instance, Limits, Protection, RepositoryAccess, UserState, Visibility};
pub use scenario::{NewToken, Scenario};
pub use server::{SimHandle, start, start_with_url};
pub use shared::{Sim, TokenInfo};
pub use spec::{Expiry, GroupSpec, ProjectRef, ProjectSpec, TokenRef, TokenSpec, UserSpec};
pub use summary::Summary;
