//! A repository's capability verdicts as one line of words, for
//! `labwatch check`, `labwatch repos` and the status page: `clone yes,
//! push no (role-too-low), …`, with the needed ones marked, so a reader
//! sees at a glance what works and which `no` matters, without colours.

use crate::engine::{Capabilities, CapabilityView};

/// `clone yes*, push no* (role-too-low), issues yes, …`; `*` marks a
/// capability the workspace needs. Empty when there are no verdicts.
pub fn capability_row(capabilities: &Capabilities) -> String {
    capabilities.iter().map(word).collect::<Vec<_>>().join(", ")
}

fn word(c: &CapabilityView) -> String {
    let needed = if c.needed { "*" } else { "" };
    match &c.denial {
        None => format!("{} yes{needed}", c.name),
        Some(d) => format!("{} no{needed} ({})", c.name, d.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DenialView;

    #[test]
    fn a_row_names_each_verdict_marks_what_is_needed_and_why_not() {
        let caps = Capabilities::new(vec![
            CapabilityView {
                name: "clone",
                needed: true,
                judged: true,
                denial: None,
            },
            CapabilityView {
                name: "push",
                needed: true,
                judged: true,
                denial: Some(Box::new(DenialView {
                    reason: "role-too-low",
                    message: String::new(),
                    fix: String::new(),
                })),
            },
            CapabilityView {
                name: "issues",
                needed: false,
                judged: false,
                denial: None,
            },
        ]);
        assert_eq!(capability_row(&caps), "clone yes*, push no* (role-too-low), issues yes");
        assert_eq!(capability_row(&Capabilities::default()), "");
    }
}
