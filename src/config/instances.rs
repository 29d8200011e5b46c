//! `[[instance]]`: per-instance settings that every workspace on that
//! instance shares — today the request budget of the instance as a whole
//! (all workspaces together leave through the platform's few addresses,
//! and GitLab's limits are per address: docs/gitlab.md §10).

use std::collections::HashSet;

use toml::Spanned;
use url::Url;

use super::instance_url;
use super::raw::RawInstance;
use super::validate::Validator;

/// One `[[instance]]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    /// Normalised like a workspace's `instance_url`.
    pub url: Url,
    /// Requests a minute for all workspaces on the instance together;
    /// `None` lifts labwatch's default (gitlab.com has one).
    pub requests_per_minute: Option<u32>,
    /// Of those, requests a minute without a token (the instance probe).
    pub unauthenticated_per_minute: Option<u32>,
}

/// Highest per-minute budget accepted: far above any GitLab limit, and
/// low enough that the token bucket's arithmetic stays exact.
const MAX_PER_MINUTE: i64 = 10_000_000;

impl Validator<'_> {
    pub(super) fn instances(&mut self, raw: Vec<Spanned<RawInstance>>) -> Vec<InstanceConfig> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for table in raw {
            let table = table.into_inner();
            let url = match instance_url::normalize(table.url.get_ref()) {
                Ok(u) => u,
                Err(m) => {
                    self.err(&table.url, m);
                    continue;
                }
            };
            if !seen.insert(instance_url::display(&url)) {
                self.err(
                    &table.url,
                    format!(
                        "instance `{}` has two [[instance]] tables; merge them into one",
                        instance_url::display(&url)
                    ),
                );
                continue;
            }
            let requests_per_minute = self.per_minute(table.requests_per_minute.as_ref(), "requests_per_minute");
            let unauthenticated_per_minute =
                self.per_minute(table.unauthenticated_per_minute.as_ref(), "unauthenticated_per_minute");
            out.push(InstanceConfig {
                url,
                requests_per_minute,
                unauthenticated_per_minute,
            });
        }
        out
    }

    /// A budget a minute: a positive whole number, or 0 for no limit.
    fn per_minute(&mut self, raw: Option<&Spanned<i64>>, key: &str) -> Option<u32> {
        let raw = raw?;
        match *raw.get_ref() {
            0 => None,
            n @ 1..=MAX_PER_MINUTE => u32::try_from(n).ok(),
            n => {
                self.err(
                    raw,
                    format!("{key} must be a number of requests a minute between 1 and {MAX_PER_MINUTE}, or 0 for no limit, not {n}"),
                );
                None
            }
        }
    }
}
