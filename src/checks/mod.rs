//! Built-in checks, one file (or folder) each, and the explicit registry that
//! lists which checks a workspace gets. No link-time magic: adding a check
//! means adding it to [`for_workspace`].

// pub mod instance;

use std::sync::Arc;

use crate::config::WorkspaceConfig;
use crate::engine::Check;

/// The checks of one workspace, dependencies before dependents.
pub fn for_workspace(ws: &WorkspaceConfig) -> Vec<Arc<dyn Check>> {
    {
        let _ = ws;
        Vec::<Arc<dyn Check>>::new()
    }
}
