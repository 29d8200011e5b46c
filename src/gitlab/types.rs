//! The parts of GitLab's JSON that labwatch reads. Unknown fields are
//! ignored (GitLab adds fields over time); fields that older versions lack
//! are optional.

use serde::{Deserialize, Serialize};
use time::Date;

/// `GET /version` and `/metadata`.
#[derive(Debug, Clone, Deserialize)]
pub struct Version {
    pub version: String,
    #[serde(default)]
    pub revision: Option<String>,
}

/// `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

/// `GET /personal_access_tokens/self` and the rotate answer (which adds `token`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TokenInfo {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default, with = "date_opt")]
    pub expires_at: Option<Date>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<time::OffsetDateTime>,
}

/// A project in the full (not `simple`) shape, or from `GET /projects/:id`.
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: u64,
    pub path_with_namespace: String,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub empty_repo: Option<bool>,
    /// The feature access levels: `enabled`, `private` (members only) or
    /// `disabled` (docs/gitlab.md §8); absent in the simple shape.
    #[serde(default)]
    pub repository_access_level: Option<String>,
    #[serde(default)]
    pub issues_access_level: Option<String>,
    #[serde(default)]
    pub merge_requests_access_level: Option<String>,
    #[serde(default)]
    pub builds_access_level: Option<String>,
    /// "Public pipelines": Guests and non-members may read pipelines.
    #[serde(default)]
    pub public_jobs: Option<bool>,
    #[serde(default)]
    pub permissions: Option<Permissions>,
    #[serde(default)]
    pub web_url: Option<String>,
    /// `None` for an empty repository (no branch yet).
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A protected branch rule (`GET /projects/:id/protected_branches/:name`,
/// docs/gitlab.md §15): who may push. Only what the push verdict reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ProtectedBranch {
    #[serde(default)]
    pub push_access_levels: Vec<PushAccess>,
}

/// One entry of `push_access_levels`: a role (0 no one, 30 Developers +
/// Maintainers, 40 Maintainers, 60 admins), or on paid tiers a user, group
/// or deploy key.
#[derive(Debug, Clone, Deserialize)]
pub struct PushAccess {
    #[serde(default)]
    pub access_level: Option<u32>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub deploy_key_id: Option<u64>,
}

impl ProtectedBranch {
    /// Whether a user with `role` (and id `user_id`, when known) may push:
    /// `Some(true)` or `Some(false)`; `None` when the rule names groups
    /// (whose members labwatch does not know), so it cannot tell.
    pub fn allows_push(&self, role: Option<u32>, user_id: Option<u64>) -> Option<bool> {
        let role = role.unwrap_or(0);
        let mut unknown = false;
        for entry in &self.push_access_levels {
            match (entry.user_id, entry.group_id, entry.deploy_key_id, entry.access_level) {
                (Some(id), _, _, _) if Some(id) == user_id => return Some(true),
                (Some(_), _, _, _) | (_, _, Some(_), _) => {}
                (_, Some(_), _, _) => unknown = true,
                // 0 is "No one"; an admin-only rule (60) is above every role.
                (None, None, None, Some(level)) if level > 0 && role >= level => return Some(true),
                _ => {}
            }
        }
        if unknown { None } else { Some(false) }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Permissions {
    #[serde(default)]
    pub project_access: Option<Access>,
    #[serde(default)]
    pub group_access: Option<Access>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Access {
    pub access_level: u32,
}

impl Project {
    /// The user's effective access level: the higher of direct and group
    /// membership; `None` when GitLab reports neither (e.g. a public project
    /// the user is not a member of).
    pub fn access_level(&self) -> Option<u32> {
        let p = self.permissions.as_ref()?;
        let direct = p.project_access.as_ref().map(|a| a.access_level);
        let group = p.group_access.as_ref().map(|a| a.access_level);
        direct.max(group)
    }
}

/// GitLab's role names for access levels (docs/gitlab.md §8).
pub fn access_level_name(level: u32) -> &'static str {
    match level {
        0 => "no access",
        5 => "minimal access",
        10 => "guest",
        15 => "planner",
        20 => "reporter",
        25 => "security manager",
        30 => "developer",
        40 => "maintainer",
        50 => "owner",
        _ => "custom role",
    }
}

/// `expires_at` is a plain `YYYY-MM-DD` date or null (docs/gitlab.md §1).
mod date_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => s.serialize_str(&d.format(FORMAT).map_err(serde::ser::Error::custom)?),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        raw.map(|s| Date::parse(&s, FORMAT).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Formats a date as GitLab writes it.
pub fn format_date(date: Date) -> String {
    use time::macros::format_description;
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod protected_branch_tests {
    use super::*;

    fn rule(json: &str) -> ProtectedBranch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_rule_lets_push_whom_its_levels_name() {
        let maintainers = rule(r#"{"push_access_levels": [{"access_level": 40}]}"#);
        assert_eq!(maintainers.allows_push(Some(30), None), Some(false));
        assert_eq!(maintainers.allows_push(Some(40), None), Some(true));
        let no_one = rule(r#"{"push_access_levels": [{"access_level": 0}]}"#);
        assert_eq!(no_one.allows_push(Some(50), None), Some(false));
        let developers = rule(r#"{"push_access_levels": [{"access_level": 30}]}"#);
        assert_eq!(developers.allows_push(Some(30), None), Some(true));
        assert_eq!(developers.allows_push(None, None), Some(false));
        // Paid tiers: a user entry counts for that user; a group's members
        // are not known, so it cannot tell.
        let alice = rule(r#"{"push_access_levels": [{"access_level": 40}, {"user_id": 7}]}"#);
        assert_eq!(alice.allows_push(Some(30), Some(7)), Some(true));
        assert_eq!(alice.allows_push(Some(30), Some(8)), Some(false));
        let group = rule(r#"{"push_access_levels": [{"access_level": 40}, {"group_id": 3}]}"#);
        assert_eq!(group.allows_push(Some(30), Some(8)), None);
    }
}
