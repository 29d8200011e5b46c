//! The capability names a workspace's `capabilities` may list
//! (`docs/capabilities.md`), so a typo is caught when the config loads. The
//! verdicts themselves are `gitlab::capabilities`'; a test in `checks`
//! keeps the two lists equal (config does not depend on `gitlab`).

/// Every capability, in the order the verdicts list them.
pub const KNOWN: &[&str] = &["clone", "push", "issues", "merge_requests", "pipelines"];

/// What a workspace needs when it does not say.
pub const DEFAULT: &[&str] = &["clone"];
