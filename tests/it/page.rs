//! The status page: its HTML and `/status/history` through the router
//! ([`router`]), the page served by `labwatch demo` in a real browser
//! before and after the simulated GitLab changes ([`in_browser`]), and its
//! actions' forms over HTTP ([`forms`]) and driven in that browser at two
//! widths ([`forms_in_browser`]).

mod forms;
mod forms_in_browser;
mod in_browser;
mod router;
