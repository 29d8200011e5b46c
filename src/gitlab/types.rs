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
