//! Where a daemon's workspaces come from: the config file's `[[workspace]]`
//! tables (declarative: the admin API reads them, never changes them) and
//! the store's run-time records (`<name>.workspace`, created and removed
//! through the admin API). A record is validated against the config it
//! runs under, at start and at every reload, so `[defaults]` and
//! `allowed_instances` apply to it as to the file; one that no longer
//! validates is not run, and is logged and listed with its errors rather
//! than dropped. A config-file workspace with a record's name wins.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::{Config, FieldError, WorkspaceConfig, workspace_body};
use crate::store::WorkspaceRecord;

/// Where a workspace is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[workspace]]` of the config file.
    Config,
    /// Created at run time and kept in the store.
    Api,
}

impl Origin {
    /// `config` or `api`, as the admin API says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// A run-time record as the runtime holds it.
#[derive(Debug, Clone)]
pub enum Record {
    Read(WorkspaceRecord),
    /// The store could not read the file; its error says why and how to fix it.
    Unreadable(String),
}

/// One workspace as the runtime knows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub origin: Origin,
    /// Its validated settings; `None` when it does not validate (it does not run).
    pub config: Option<Arc<WorkspaceConfig>>,
    /// The stored record of a run-time workspace.
    pub record: Option<WorkspaceRecord>,
    /// Why a run-time workspace does not run.
    pub errors: Vec<FieldError>,
}

impl Listed {
    fn from_config(ws: &WorkspaceConfig) -> Listed {
        Listed {
            name: ws.name.clone(),
            origin: Origin::Config,
            config: Some(Arc::new(ws.clone())),
            record: None,
            errors: Vec::new(),
        }
    }
}

/// A run-time record validated against `config`.
pub fn resolve(config: &Config, name: &str, record: &Record) -> Listed {
    let (record, validated) = match record {
        Record::Read(r) => (
            Some(r.clone()),
            workspace_body::validate(config, name, &Value::Object(r.settings.clone())),
        ),
        Record::Unreadable(e) => (
            None,
            Err(vec![FieldError {
                field: String::new(),
                message: e.clone(),
            }]),
        ),
    };
    let (config, errors) = match validated {
        Ok(ws) => (Some(Arc::new(ws)), Vec::new()),
        Err(errors) => (None, errors),
    };
    Listed {
        name: name.to_owned(),
        origin: Origin::Api,
        config,
        record,
        errors,
    }
}

/// Every workspace of `config` and of `records`, by name, with what the log
/// must say about the records: one shadowed by the file, one that does not
/// validate.
pub fn catalogue(config: &Config, records: &BTreeMap<String, Record>) -> BTreeMap<String, Listed> {
    let mut all: BTreeMap<String, Listed> = config
        .workspaces
        .iter()
        .map(|ws| (ws.name.clone(), Listed::from_config(ws)))
        .collect();
    for (name, record) in records {
        if all.contains_key(name) {
            tracing::warn!(
                workspace = %name,
                config = %config.source.display(),
                record = %format!("{name}{}", crate::store::WORKSPACE_SUFFIX),
                "The config file defines a workspace with the name of one created at run time; the config file's is run. \
                 Rename one of them (or delete the run-time one once the file's is removed)"
            );
            continue;
        }
        let listed = resolve(config, name, record);
        log_invalid(&listed);
        all.insert(name.clone(), listed);
    }
    all
}

/// A run-time workspace that is not run says so, once per start or reload.
pub fn log_invalid(listed: &Listed) {
    if listed.errors.is_empty() {
        return;
    }
    tracing::error!(
        workspace = %listed.name,
        errors = %crate::config::workspace_body::summary(&listed.errors),
        "A workspace created at run time does not validate against the config and is not run; \
         fix it with PUT /api/v1/workspaces/{{ws}} or delete it"
    );
}
