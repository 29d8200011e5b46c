//! The status page: its HTML and `/status/history` through the router
//! ([`router`]), the page served by `labwatch demo` in a real browser
//! before and after the simulated GitLab changes ([`in_browser`]), and its
//! actions' forms driven in that browser ([`forms_in_browser`]).

mod forms_in_browser;
mod in_browser;
mod router;
