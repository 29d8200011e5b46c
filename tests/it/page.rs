//! The status page: its HTML and `/status/history` through the router
//! ([`router`]), and the page served by `labwatch demo` in a real browser
//! before and after the simulated GitLab changes ([`in_browser`]).

mod forms;
mod in_browser;
mod router;
