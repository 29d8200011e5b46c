//! `[[generate]]` tables of a scenario: many users, each with one token and
//! some personal projects, made from a seed instead of written out, for
//! tests at fleet scale.
//!
//! ```toml
//! [[generate]]
//! users = 10000                 # required, 1 to 100,000
//! projects_per_user = 2         # default 1, 0 to 100
//! seed = 42                     # default: the scenario's seed (plus the table's index)
//! prefix = "gen"                # usernames gen00001 …; projects gen00001/p1 …
//! token_name = "workspace"      # default "workspace"
//! scopes = ["api", "read_repository"]   # the default
//! expires_in_days = 365         # the default; negative: already expired
//! visibility = "private"        # of the projects; the default
//! ```
//!
//! The same table and seed always make the same users, projects, ids (given
//! the same hand-written records before it) and token secrets; the secrets
//! have the same `glpat-` layout as every simulator token and are unique.
//! Each user owns its projects through its personal namespace, so no
//! membership is needed. Generated records appear in the summary like
//! written ones.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::model::Visibility;
use super::spec::{Expiry, ProjectSpec, TokenSpec, UserSpec};
use super::unconfirmed;
use super::world::World;

/// Sane caps: beyond them a scenario is a typo, and the world would not fit
/// in a test machine's memory.
pub const MAX_USERS: i64 = 100_000;
pub const MAX_PROJECTS_PER_USER: i64 = 100;
pub const MAX_PROJECTS: i64 = 200_000;
/// Expiry offsets beyond a century would overflow the date type.
const MAX_EXPIRY_DAYS: i64 = 36_500;

/// One `[[generate]]` table as written. Counts are signed so that a
/// negative value gets this module's message, not a type error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGenerate {
    users: i64,
    #[serde(default = "one")]
    projects_per_user: i64,
    seed: Option<u64>,
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default = "default_token_name")]
    token_name: String,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default = "default_expiry")]
    expires_in_days: i64,
    #[serde(default)]
    visibility: Visibility,
}

fn one() -> i64 {
    1
}

fn default_prefix() -> String {
    "gen".to_owned()
}

fn default_token_name() -> String {
    "workspace".to_owned()
}

fn default_scopes() -> Vec<String> {
    vec!["api".to_owned(), "read_repository".to_owned()]
}

fn default_expiry() -> i64 {
    365
}

/// A validated table: counts in range.
struct Plan<'a> {
    raw: &'a RawGenerate,
    users: usize,
    projects_per_user: usize,
    seed: u64,
}

fn check_count(field: &str, value: i64, min: i64, max: i64, fix: &str) -> Result<usize, String> {
    if value < min || value > max {
        return Err(format!("{field} = {value} is out of range: give {min} to {max}{fix}"));
    }
    usize::try_from(value).map_err(|_| format!("{field} = {value} does not fit this machine"))
}

fn plan(raw: &RawGenerate, index: usize, scenario_seed: u64) -> Result<Plan<'_>, String> {
    let users = check_count(
        "users",
        raw.users,
        1,
        MAX_USERS,
        " (remove the table to generate nobody)",
    )?;
    let projects_per_user = check_count("projects_per_user", raw.projects_per_user, 0, MAX_PROJECTS_PER_USER, "")?;
    let total = raw.users.saturating_mul(raw.projects_per_user);
    if total > MAX_PROJECTS {
        return Err(format!(
            "users × projects_per_user = {total} projects is over the maximum {MAX_PROJECTS}: lower either"
        ));
    }
    if !(-MAX_EXPIRY_DAYS..=MAX_EXPIRY_DAYS).contains(&raw.expires_in_days) {
        return Err(format!(
            "expires_in_days = {} is out of range: give -{MAX_EXPIRY_DAYS} to {MAX_EXPIRY_DAYS}",
            raw.expires_in_days
        ));
    }
    if raw.scopes.is_empty() {
        return Err("scopes must name at least one scope (e.g. [\"api\"])".to_owned());
    }
    if raw.token_name.trim().is_empty() {
        return Err("token_name must not be empty".to_owned());
    }
    let prefix_ok = raw.prefix.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && raw
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !prefix_ok {
        return Err(format!(
            "prefix = {:?} cannot start a username: use letters, digits, '_', '-', '.', starting with a letter or digit",
            raw.prefix
        ));
    }
    // Two tables without a seed still get different secrets.
    let seed = raw.seed.unwrap_or_else(|| scenario_seed.wrapping_add(index as u64));
    Ok(Plan {
        raw,
        users,
        projects_per_user,
        seed,
    })
}

/// A `glpat-` secret of the simulator's layout from the table's generator,
/// not yet used by any token.
fn secret(rng: &mut fastrand::Rng, world: &World) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    loop {
        let random: String = (0..unconfirmed::TOKEN_RANDOM_LEN)
            .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
            .collect();
        let secret = format!("{}{random}", unconfirmed::TOKEN_PREFIX);
        if world.token_by_secret(&secret).is_none() {
            return secret;
        }
    }
}

/// Adds table `index`'s users, tokens and projects to `world`, after the
/// hand-written users and before the hand-written projects, whose paths
/// (lowercase) are `written_projects`: a generated name that clashes with
/// either is an error naming both.
pub(crate) fn generate(
    world: &mut World,
    index: usize,
    raw: &RawGenerate,
    scenario_seed: u64,
    written_projects: &BTreeSet<String>,
) -> Result<(), String> {
    let plan = plan(raw, index, scenario_seed)?;
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    let width = plan.users.to_string().len();
    for i in 1..=plan.users {
        let username = format!("{}{i:0width$}", plan.raw.prefix);
        if world.user_id(&username).is_ok() {
            return Err(format!(
                "user '{username}' exists already (a [[users]] entry or an earlier [[generate]] table): \
                 set another prefix"
            ));
        }
        world.add_user(UserSpec::new(&username)).map_err(|e| e.to_string())?;
        let token = TokenSpec {
            scopes: plan.raw.scopes.clone(),
            expires: Expiry::InDays(plan.raw.expires_in_days),
            token: Some(secret(&mut rng, world)),
            ..TokenSpec::new(&username, &plan.raw.token_name)
        };
        world.add_token(token).map_err(|e| e.to_string())?;
        for j in 1..=plan.projects_per_user {
            let path = format!("{username}/p{j}");
            if written_projects.contains(&path.to_ascii_lowercase()) {
                return Err(format!(
                    "project '{path}' is also a [[projects]] entry: set another prefix or rename that project"
                ));
            }
            world
                .add_project(ProjectSpec::new(&path).visibility(plan.raw.visibility))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
