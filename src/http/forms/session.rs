//! Page sessions: the admin token, given once on the sign-in form, becomes
//! a session cookie, and every form carries a CSRF token bound to that
//! session (`docs/status-page.md`, "Signing in").
//!
//! Sessions are stateless: a cookie is `EXPIRES.NONCE.MAC`, where the MAC is
//! an HMAC-SHA256 keyed by the admin token. So every replica that shares the
//! admin token accepts the same cookies, a restart keeps people signed in,
//! and a new admin token signs everyone out. A form's CSRF token is the HMAC
//! of the session's nonce, so it needs no storage either. Signing out drops
//! the cookie in the browser and remembers the nonce here until it expires,
//! in case a copy of the cookie is used again.
//!
//! ring's HMAC (already built for rustls) is the only primitive: its
//! `verify` compares in constant time.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// The session cookie.
pub const SESSION_COOKIE: &str = "labwatch_session";
/// The sign-in form's own cookie: a random nonce its CSRF token is bound
/// to, before there is a session (double submit).
pub const SIGN_IN_COOKIE: &str = "labwatch_sign_in";

/// How long a session lasts from sign-in: a working day. Absolute, not
/// sliding, so a forgotten tab does not stay signed in for ever.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// How long the sign-in form stays usable once shown.
pub const SIGN_IN_SECONDS: i64 = 3600;

/// Signed-out sessions remembered at most; past this the oldest expiry
/// goes first (a cookie the browser already dropped is all it protects).
const MAX_SIGNED_OUT: usize = 4096;

/// Issues and checks session cookies and CSRF tokens for one admin token.
pub struct Sessions {
    key: hmac::Key,
    /// Nonces of sessions signed out, with their expiry (unix seconds).
    signed_out: Mutex<HashMap<String, i64>>,
}

/// A valid session, read from its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    nonce: String,
    /// Unix seconds.
    pub expires: i64,
}

impl Sessions {
    pub fn new(admin_token: &SecretString) -> Sessions {
        Sessions {
            key: hmac::Key::new(hmac::HMAC_SHA256, admin_token.expose_secret().as_bytes()),
            signed_out: Mutex::new(HashMap::new()),
        }
    }

    /// A new session from now: the cookie value and the session.
    pub fn issue(&self, now: OffsetDateTime) -> Option<(String, Session)> {
        let nonce = random_nonce()?;
        let expires = now.unix_timestamp() + SESSION_SECONDS;
        let mac = self.mac(&format!("session|{expires}|{nonce}"));
        Some((format!("{expires}.{nonce}.{mac}"), Session { nonce, expires }))
    }

    /// The session a cookie value stands for, if it is ours, unexpired and
    /// not signed out.
    pub fn check(&self, cookie: &str, now: OffsetDateTime) -> Option<Session> {
        let mut parts = cookie.splitn(3, '.');
        let (expires, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let expires_at: i64 = expires.parse().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        hmac::verify(&self.key, format!("session|{expires}|{nonce}").as_bytes(), &mac).ok()?;
        if expires_at <= now.unix_timestamp() {
            return None;
        }
        if self.lock().contains_key(nonce) {
            return None;
        }
        Some(Session {
            nonce: nonce.to_owned(),
            expires: expires_at,
        })
    }

    /// The CSRF token of every form shown in `session`.
    pub fn csrf(&self, session: &Session) -> String {
        self.mac(&format!("csrf|{}", session.nonce))
    }

    /// Whether `given` is `session`'s CSRF token.
    pub fn csrf_matches(&self, session: &Session, given: &str) -> bool {
        self.verify(&format!("csrf|{}", session.nonce), given)
    }

    /// A fresh sign-in nonce (for [`SIGN_IN_COOKIE`]) and its form's CSRF
    /// token.
    pub fn sign_in_form(&self) -> Option<(String, String)> {
        let nonce = random_nonce()?;
        let csrf = self.mac(&format!("sign-in|{nonce}"));
        Some((nonce, csrf))
    }

    /// Whether `given` is the sign-in CSRF token for the cookie's `nonce`.
    pub fn sign_in_csrf_matches(&self, nonce: &str, given: &str) -> bool {
        !nonce.is_empty() && self.verify(&format!("sign-in|{nonce}"), given)
    }

    /// Ends `session` here: its cookie is refused from now on.
    pub fn sign_out(&self, session: &Session, now: OffsetDateTime) {
        let mut signed_out = self.lock();
        let now = now.unix_timestamp();
        signed_out.retain(|_, expires| *expires > now);
        if signed_out.len() >= MAX_SIGNED_OUT
            && let Some(oldest) = signed_out.iter().min_by_key(|(_, e)| **e).map(|(n, _)| n.clone())
        {
            signed_out.remove(&oldest);
        }
        signed_out.insert(session.nonce.clone(), session.expires);
    }

    fn mac(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, message.as_bytes()).as_ref())
    }

    fn verify(&self, message: &str, given: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(given)
            .is_ok_and(|mac| hmac::verify(&self.key, message.as_bytes(), &mac).is_ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // A panic while holding this lock cannot leave the map half
        // changed in a way that matters; keep serving.
        self.signed_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// 128 random bits, URL-safe; `None` when the system has no randomness
/// (sign-in then fails with a message saying so).
fn random_nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/`, and
/// `Secure` when the page is served over TLS (a proxy in front says so).
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new(&SecretString::from("admin-token-for-tests"))
    }

    #[test]
    fn a_session_is_valid_until_it_expires_or_is_signed_out() {
        let s = sessions();
        let now = OffsetDateTime::now_utc();
        let (cookie, session) = s.issue(now).unwrap();
        assert_eq!(s.check(&cookie, now), Some(session.clone()));
        let later = now + time::Duration::seconds(SESSION_SECONDS);
        assert_eq!(s.check(&cookie, later), None, "expired");
        s.sign_out(&session, now);
        assert_eq!(s.check(&cookie, now), None, "signed out");
    }

    #[test]
    fn a_changed_cookie_or_another_admin_token_is_refused() {
        let s = sessions();
        let now = OffsetDateTime::now_utc();
        let (cookie, _) = s.issue(now).unwrap();
        let (expires, rest) = cookie.split_once('.').unwrap();
        let extended = format!("{}.{rest}", expires.parse::<i64>().unwrap() + 3600);
        assert_eq!(s.check(&extended, now), None);
        let other = Sessions::new(&SecretString::from("another-admin-token"));
        assert_eq!(other.check(&cookie, now), None);
        for junk in ["", "..", "1.2", "x.y.z", "99999999999.a.!!"] {
            assert_eq!(s.check(junk, now), None, "{junk}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let s = sessions();
        let now = OffsetDateTime::now_utc();
        let (_, a) = s.issue(now).unwrap();
        let (_, b) = s.issue(now).unwrap();
        let token = s.csrf(&a);
        assert!(s.csrf_matches(&a, &token));
        assert!(!s.csrf_matches(&b, &token));
        assert!(!s.csrf_matches(&a, ""));
        let (nonce, sign_in) = s.sign_in_form().unwrap();
        assert!(s.sign_in_csrf_matches(&nonce, &sign_in));
        assert!(!s.sign_in_csrf_matches("", &sign_in));
        assert!(!s.sign_in_csrf_matches(&nonce, &token));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let h = "a=1; labwatch_session_x=2; labwatch_session=3";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("3"));
        assert_eq!(cookie(h, "b"), None);
    }
}
