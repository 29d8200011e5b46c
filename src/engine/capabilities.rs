//! What a repository check found a connection can do with its project
//! (`docs/capabilities.md`): each capability's verdict, `yes` or `no` with
//! the verdict's reason, message and fix, and whether the workspace needs
//! it. The engine only carries it, from the check to `/status`,
//! `/metrics`, the page and the CLI; `gitlab::capabilities` judges.
//!
//! A fleet holds one per watched repository, so it is small: empty (no
//! allocation) for every other check, five short entries for a repository,
//! and text only for a `no`. And it is shared, not copied: the check keeps
//! the verdicts it judged until the project's facts or the token change,
//! and each round's outcome, the status store's copies and every `/status`
//! snapshot hold the same allocation.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// One capability's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityView {
    /// The stable name: `clone`, `push`, `issues`, `merge_requests`, `pipelines`.
    pub name: &'static str,
    /// The workspace needs it: listed in its `capabilities`, or `clone`
    /// when the key is absent (the default).
    pub needed: bool,
    /// Listed in the workspace's `capabilities` key itself: its verdict
    /// judges the check (a `no` makes it critical) and it is a series in
    /// `/metrics`. Without the key, `clone` is needed but judged as before
    /// the key existed, and no verdict is a series: the repository check's
    /// own series say the same, at no extra cost to a fleet's scrape.
    pub judged: bool,
    /// Why GitLab would refuse it; `None` for `yes`.
    pub denial: Option<Box<DenialView>>,
}

/// A `no`: the verdict's reason code (`role-too-low`, `feature-disabled`,
/// `scope-missing`, `project-archived`), what it means, and the step that
/// fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialView {
    pub reason: &'static str,
    pub message: String,
    pub fix: String,
}

impl CapabilityView {
    pub fn is_yes(&self) -> bool {
        self.denial.is_none()
    }

    /// `yes` or `no`.
    pub fn verdict(&self) -> &'static str {
        if self.is_yes() { "yes" } else { "no" }
    }
}

/// The verdicts of one repository, in the order capabilities are listed;
/// empty for other checks (and before the project was seen). Cloning it
/// copies a pointer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(Option<Arc<[CapabilityView]>>);

impl Capabilities {
    pub fn new(views: Vec<CapabilityView>) -> Capabilities {
        Capabilities((!views.is_empty()).then(|| views.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, CapabilityView> {
        self.0.as_deref().unwrap_or_default().iter()
    }
}

/// `{"clone": {"verdict": "yes", "needed": true}, "push": {"verdict": "no",
/// "reason": …, "message": …, "fix": …}, …}`, the shape `docs/http.md`
/// documents: `needed` only when true, since a fleet's `/status` carries
/// five of these per repository and most are not needed.
impl Serialize for Capabilities {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.iter().len()))?;
        for c in self.iter() {
            map.serialize_entry(c.name, &Entry(c))?;
        }
        map.end()
    }
}

struct Entry<'a>(&'a CapabilityView);

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let fields = 1 + usize::from(c.needed) + if c.denial.is_some() { 3 } else { 0 };
        let mut map = serializer.serialize_map(Some(fields))?;
        map.serialize_entry("verdict", c.verdict())?;
        if c.needed {
            map.serialize_entry("needed", &true)?;
        }
        if let Some(d) = &c.denial {
            map.serialize_entry("reason", d.reason)?;
            map.serialize_entry("message", &d.message)?;
            map.serialize_entry("fix", &d.fix)?;
        }
        map.end()
    }
}
