//! The page's actions (`docs/status-page.md`, "Actions"): an operator signs
//! in with the admin token and then connects, updates the token, rotates,
//! chooses repositories, disconnects, creates and deletes workspaces with
//! plain HTML forms that work without JavaScript. Each form calls the same
//! [`Actions`](crate::actions::Actions) as the admin API.
//!
//! - [`session`]: the session cookie and CSRF tokens; [`limiter`]: failed
//!   sign-ins per address.
//! - [`request`]: the checks every form request passes (session, CSRF,
//!   same origin) and the posted fields.
//! - [`sign_in`], [`connection`], [`repositories`], [`workspaces`]: the
//!   forms; [`markup`] renders them.
//!
//! The read-only status page stays public; these routes answer 404
//! `admin-api-off` when the admin API is off.

mod connection;
pub mod limiter;
mod markup;
mod repositories;
mod request;
pub mod session;
mod sign_in;
mod workspaces;

use axum::Router;
use axum::routing::{get, post};

pub use markup::sign_out_form as sign_out_button;
pub use request::viewer;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in::form).post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/workspaces/new", get(workspaces::new_form).post(workspaces::create))
        .route(
            "/workspaces/{ws}/connect",
            get(connection::connect_form).post(connection::connect),
        )
        .route(
            "/workspaces/{ws}/token",
            get(connection::token_form).post(connection::update_token),
        )
        .route("/workspaces/{ws}/rotate", post(connection::rotate))
        .route(
            "/workspaces/{ws}/disconnect",
            get(connection::disconnect_form).post(connection::disconnect),
        )
        .route(
            "/workspaces/{ws}/repositories",
            get(repositories::form).post(repositories::save),
        )
        .route(
            "/workspaces/{ws}/delete",
            get(workspaces::delete_form).post(workspaces::delete),
        )
}
