//! The TOML file as written: serde types that reject unknown keys and keep the
//! span of every value, so validation can point at `FILE:LINE:COL`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub server: Option<Spanned<RawServer>>,
    pub store: Option<Spanned<RawStore>>,
    pub defaults: Option<Spanned<RawDefaults>>,
    #[serde(default)]
    pub workspace: Vec<Spanned<RawWorkspace>>,
    pub allowed_instances: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub plugin: Vec<Spanned<RawPlugin>>,
    #[serde(default)]
    pub http_check: Vec<Spanned<RawHttpCheck>>,
    #[serde(default)]
    pub instance: Vec<Spanned<RawInstance>>,
    pub metrics: Option<Spanned<RawMetrics>>,
}

/// What `/metrics` exports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub repository_series: Option<Spanned<String>>,
    pub capability_series: Option<Spanned<String>>,
}

/// Settings of one GitLab instance, shared by its workspaces.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    pub url: Spanned<String>,
    pub requests_per_minute: Option<Spanned<i64>>,
    pub unauthenticated_per_minute: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub admin_token_file: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub backend: Option<Spanned<String>>,
    pub dir: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
    pub postgres: Option<Spanned<RawPostgres>>,
}

/// `[store.postgres]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    pub url: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub pool_size: Option<Spanned<i64>>,
    pub ca_file: Option<Spanned<String>>,
    pub lease: Option<Spanned<String>>,
}

/// Settings every workspace inherits unless it sets its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<i64>>,
    pub tls_expiry_warning: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    pub name: Spanned<String>,
    pub instance_url: Option<Spanned<String>>,
    pub required_scopes: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub repositories: Vec<Spanned<RawRepository>>,
    pub ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub nameservers: Vec<Spanned<String>>,
    pub requests_per_second: Option<Spanned<f64>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub tls_expiry_warning: Option<Spanned<String>>,
    pub renewal: Option<Spanned<RawRenewal>>,
    pub token_file: Option<Spanned<String>>,
    pub token_expiry_critical: Option<Spanned<String>>,
    pub min_access_level: Option<Spanned<String>>,
    pub clone_probe: Option<bool>,
    pub capabilities: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRenewal {
    pub mode: Option<Spanned<String>>,
    pub renew_before: Option<Spanned<String>>,
    pub lifetime: Option<Spanned<String>>,
    pub renew_on: Option<Vec<Spanned<String>>>,
}

/// An external executable check (`[[plugin]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub name: Spanned<String>,
    pub command: Spanned<Vec<Spanned<String>>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub workspaces: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    pub token: Option<bool>,
}

/// A declarative HTTP check (`[[http_check]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpCheck {
    pub name: Spanned<String>,
    pub method: Option<Spanned<String>>,
    pub url: Spanned<String>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, Spanned<String>>,
    pub body: Option<Spanned<String>>,
    pub conditions: Spanned<Vec<Spanned<String>>>,
    pub severity: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub workspaces: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    pub token: Option<bool>,
}

/// One entry of a workspace's `repositories`: a path or URL, or a table
/// that also says what this repository needs,
/// `{ path = "group/project", capabilities = ["clone", "push"] }`.
#[derive(Debug)]
pub enum RawRepository {
    Path(String),
    Table(RawRepositoryTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepositoryTable {
    pub path: String,
    pub capabilities: Option<Vec<String>>,
}

/// By hand rather than `#[serde(untagged)]`, whose error for anything
/// else ("did not match any variant") names neither form.
impl<'de> Deserialize<'de> for RawRepository {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawRepository, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawRepository;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a repository path or URL (\"group/project\"), or a table such as { path = \"group/project\", capabilities = [\"push\"] }",
                )
            }

            fn visit_str<E: de::Error>(self, path: &str) -> Result<RawRepository, E> {
                Ok(RawRepository::Path(path.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRepository, A::Error> {
                RawRepositoryTable::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawRepository::Table)
            }
        }
        deserializer.deserialize_any(Entry)
    }
}
