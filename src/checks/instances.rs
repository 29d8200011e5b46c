//! [`Instances`]: the registry of what the workspaces on one GitLab
//! instance share — its request budget (per URL), connection pools (per
//! URL and CA file), instance probe (per URL and probe settings) and, for a
//! rate-limited instance, its scheduling lane (per URL). It
//! lives in [`super::Shared`], so it outlives re-plans; a reload starts new
//! pools and probes (a changed CA file or nameserver list takes effect) and
//! keeps budgets whose limits did not change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

use super::instance::SharedProbe;
use crate::config::{InstanceConfig, WorkspaceConfig, instance_url};
use crate::gitlab::{Instance, InstanceBudget, InstanceLimits};

#[derive(Default)]
pub struct Instances {
    state: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    /// The `[[instance]]` tables of the config being run.
    configured: Vec<InstanceConfig>,
    budgets: HashMap<String, Arc<InstanceBudget>>,
    pools: HashMap<(String, Option<PathBuf>), Arc<Instance>>,
    /// The scheduling lane of each rate-limited instance, with its size.
    lanes: HashMap<String, (usize, Arc<Semaphore>)>,
    probes: HashMap<ProbeKey, Arc<SharedProbe>>,
}

/// Everything a probe's verdict depends on.
#[derive(PartialEq, Eq, Hash)]
struct ProbeKey {
    url: String,
    ca_file: Option<PathBuf>,
    nameservers: Vec<SocketAddr>,
    tls_expiry_warning: Duration,
}

/// One instance's budget, as `/status` and `/metrics` show it.
pub struct InstanceBudgetView {
    /// The instance URL as shown.
    pub url: String,
    pub budget: Arc<InstanceBudget>,
}

impl Instances {
    /// Takes the `[[instance]]` tables of a (re)loaded config. Pools and
    /// probes start afresh; budgets are kept unless their limits changed.
    pub fn configure(&self, instances: &[InstanceConfig]) {
        let mut r = self.lock();
        r.configured = instances.to_vec();
        r.pools.clear();
        r.probes.clear();
        r.lanes.clear();
    }

    /// The scheduling lane of `ws`'s instance when its budget is limited:
    /// at most half the engine's `concurrency` of its checks run at once,
    /// so checks waiting for a spent budget never hold every permit and
    /// the workspaces of other instances keep running. `None` for an
    /// instance without a budget.
    pub fn lane(&self, ws: &WorkspaceConfig, concurrency: usize) -> Option<Arc<Semaphore>> {
        let url = instance_url::display(&ws.instance_url);
        let mut r = self.lock();
        r.budget(&ws.instance_url, &url).limits().requests_per_minute?;
        let size = (concurrency / 2).max(1);
        let lane = r
            .lanes
            .entry(url)
            .and_modify(|(n, lane)| {
                if *n != size {
                    *n = size;
                    *lane = Arc::new(Semaphore::new(size));
                }
            })
            .or_insert_with(|| (size, Arc::new(Semaphore::new(size))));
        Some(lane.1.clone())
    }

    /// The pool (and, through it, the budget) for `ws`'s instance.
    pub fn pool(&self, ws: &WorkspaceConfig) -> Result<Arc<Instance>, String> {
        let url = instance_url::display(&ws.instance_url);
        let mut r = self.lock();
        let budget = r.budget(&ws.instance_url, &url);
        let key = (url, ws.ca_file.clone());
        if let Some(pool) = r.pools.get(&key).filter(|p| Arc::ptr_eq(p.budget(), &budget)) {
            return Ok(pool.clone());
        }
        // Built once per instance, not per workspace: a TLS config with the
        // system's roots is tens of kilobytes.
        let tls = crate::tls::client_config(ws.ca_file.as_deref())?;
        let pool = Arc::new(Instance::new(tls, budget)?);
        r.pools.insert(key, pool.clone());
        Ok(pool)
    }

    /// The probe every workspace with `ws`'s probe settings shares.
    pub fn probe(&self, ws: &WorkspaceConfig) -> Arc<SharedProbe> {
        let url = instance_url::display(&ws.instance_url);
        let mut r = self.lock();
        let budget = r.budget(&ws.instance_url, &url);
        let key = ProbeKey {
            url,
            ca_file: ws.ca_file.clone(),
            nameservers: ws.nameservers.clone(),
            tls_expiry_warning: ws.tls_expiry_warning,
        };
        let probe = r.probes.entry(key).or_default();
        if !probe.budget().is_some_and(|b| Arc::ptr_eq(b, &budget)) {
            *probe = Arc::new(SharedProbe::within(budget));
        }
        probe.clone()
    }

    /// Every instance budget in use, by URL.
    pub fn budgets(&self) -> Vec<InstanceBudgetView> {
        let mut out: Vec<_> = self
            .lock()
            .budgets
            .iter()
            .map(|(url, budget)| InstanceBudgetView {
                url: url.clone(),
                budget: budget.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Registry {
    fn budget(&mut self, instance: &Url, url: &str) -> Arc<InstanceBudget> {
        let limits = limits(
            instance,
            self.configured.iter().find(|c| instance_url::display(&c.url) == url),
        );
        if let Some(b) = self.budgets.get(url).filter(|b| b.limits() == limits) {
            return b.clone();
        }
        let budget = Arc::new(InstanceBudget::new(limits));
        self.budgets.insert(url.to_owned(), budget.clone());
        budget
    }
}

/// An instance's limits: its `[[instance]]` table, else GitLab.com's
/// published per-address limits for gitlab.com, else none (self-managed
/// GitLab has its throttles off by default: docs/gitlab.md §10).
pub fn limits(instance: &Url, configured: Option<&InstanceConfig>) -> InstanceLimits {
    match configured {
        Some(c) => InstanceLimits {
            requests_per_minute: c.requests_per_minute,
            unauthenticated_per_minute: c.unauthenticated_per_minute,
        },
        None if is_gitlab_com(instance) => InstanceLimits::GITLAB_COM,
        None => InstanceLimits::default(),
    }
}

fn is_gitlab_com(url: &Url) -> bool {
    url.scheme() == "https" && url.host_str() == Some("gitlab.com") && url.port_or_known_default() == Some(443)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        instance_url::normalize(s).unwrap()
    }

    #[test]
    fn gitlab_com_gets_its_published_limits_and_others_none() {
        assert_eq!(limits(&url("https://gitlab.com"), None), InstanceLimits::GITLAB_COM);
        assert_eq!(
            limits(&url("https://gitlab.example.com"), None),
            InstanceLimits::default()
        );
        let lifted = InstanceConfig {
            url: url("https://gitlab.com"),
            requests_per_minute: None,
            unauthenticated_per_minute: Some(100),
        };
        assert_eq!(
            limits(&url("https://gitlab.com"), Some(&lifted)),
            InstanceLimits {
                requests_per_minute: None,
                unauthenticated_per_minute: Some(100)
            }
        );
    }
}
