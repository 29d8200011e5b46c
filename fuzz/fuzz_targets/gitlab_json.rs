//! Fuzzes the decoding of GitLab's answers: the bytes of a body, decoded by
//! `Answer::json` (what every typed call in `gitlab::api` uses) into each
//! type labwatch reads, and GitLab error bodies through `client::classify`.
//! A decoded token then goes where the token check takes it (its expiry
//! moment and renewal time), since a date GitLab may send is only safe if
//! that arithmetic is too. A broken or hostile instance must give a
//! `GitlabError`, never a panic.

#![no_main]

use std::time::Duration;

use labwatch::config::{RenewBefore, RenewalMode, RenewalPolicy, expiry_moment};
use labwatch::gitlab::GitlabError;
use labwatch::gitlab::client::{Answer, classify};
use labwatch::gitlab::types::{Project, TokenInfo, User, Version, access_level_name, format_date};
use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The rotate answer as `GitlabClient::rotate_self` decodes it (its type is
/// local to that function): the token's metadata and the new secret.
#[derive(serde::Deserialize)]
struct Rotated {
    #[serde(flatten)]
    info: TokenInfo,
    #[allow(dead_code)]
    token: String,
}

/// Error statuses `classify` reads a body for.
const ERROR_STATUSES: &[u16] = &[400, 401, 403, 404, 429, 500];

fuzz_target!(|body: &[u8]| {
    let answer = Answer {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body: body.to_vec(),
    };
    decoded(answer.json::<Version>());
    decoded(answer.json::<User>());
    if let Some(project) = decoded(answer.json::<Project>()) {
        access(&project);
    }
    if let Some(page) = decoded(answer.json::<Vec<Project>>()) {
        page.iter().for_each(access);
    }
    if let Some(token) = decoded(answer.json::<TokenInfo>()) {
        renewal(&token);
    }
    if let Some(rotated) = decoded(answer.json::<Rotated>()) {
        renewal(&rotated.info);
    }
    for status in ERROR_STATUSES {
        let status = StatusCode::from_u16(*status).expect("constant status codes are valid");
        let error = classify(status, &answer.headers, body);
        assert!(!error.to_string().trim().is_empty(), "{error:?}");
    }
});

/// The value, or `None` after checking that the error says something.
fn decoded<T>(result: Result<T, GitlabError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(matches!(e, GitlabError::Decode { .. }), "{e:?}");
            assert!(!e.to_string().trim().is_empty(), "{e:?}");
            None
        }
    }
}

/// What the repository check reads of a project.
fn access(project: &Project) {
    if let Some(level) = project.access_level() {
        access_level_name(level);
    }
}

/// What the token check does with a token's dates, under the default policy
/// and the extremes the config allows.
fn renewal(token: &TokenInfo) {
    let Some(expires_at) = token.expires_at else {
        return;
    };
    format_date(expires_at);
    let expires = expiry_moment(expires_at);
    for renew_before in [
        RenewBefore::Fraction(1.0 / 3.0),
        RenewBefore::Fraction(0.999),
        RenewBefore::Duration(Duration::from_secs(399 * 86_400)),
    ] {
        let policy = RenewalPolicy {
            mode: RenewalMode::Auto,
            renew_before,
            lifetime: Duration::from_secs(400 * 86_400),
            renew_on: Vec::new(),
        };
        policy.renewal_due(token.created_at, expires);
    }
}
