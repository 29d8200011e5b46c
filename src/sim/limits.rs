//! Rack Attack as seen from outside: a per-token (or per-IP, unauthenticated)
//! requests-per-minute budget that yields the `RateLimit-*` headers and 429s,
//! and the failed-authentication ban that answers 403 to an IP after too many
//! failed Git sign-ins in a minute. Time is `tokio::time::Instant`, so tests that pause the
//! tokio clock can move windows forward without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::model::Limits;

const WINDOW: Duration = Duration::from_secs(60);

/// Whose budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Throttle {
    /// `throttle_authenticated_api`, one budget per token.
    Token(u64),
    /// `throttle_unauthenticated_api`, one budget per client IP.
    Ip(IpAddr),
}

impl Throttle {
    pub fn name(self) -> &'static str {
        match self {
            Throttle::Token(_) => "throttle_authenticated_api",
            Throttle::Ip(_) => "throttle_unauthenticated_api",
        }
    }
}

/// One request's view of its budget: what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub name: &'static str,
    pub limit: u64,
    pub observed: u64,
    pub remaining: u64,
    /// Seconds until the window resets (at least 1).
    pub reset_in: u64,
    /// Unix time of the reset.
    pub reset_at: u64,
    pub exceeded: bool,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u64,
}

impl Window {
    /// Counts one event in the current window, opening a new one when the
    /// last has run out. Returns the count and the time left.
    fn hit(slot: &mut Option<Window>, now: Instant) -> (u64, Duration) {
        let window = match slot {
            Some(w) if now.duration_since(w.start) < WINDOW => w,
            _ => slot.insert(Window { start: now, count: 0 }),
        };
        window.count += 1;
        (window.count, WINDOW.saturating_sub(now.duration_since(window.start)))
    }
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: HashMap<Throttle, Window>,
}

impl RateLimiter {
    pub fn observe(&mut self, key: Throttle, limits: &Limits, now: Instant) -> Observation {
        let limit = match key {
            Throttle::Token(_) => limits.authenticated_per_minute,
            Throttle::Ip(_) => limits.unauthenticated_per_minute,
        };
        let mut slot = self.windows.get(&key).copied();
        let (observed, left) = Window::hit(&mut slot, now);
        if let Some(window) = slot {
            self.windows.insert(key, window);
        }
        let reset_in = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Observation {
            name: key.name(),
            limit,
            observed,
            remaining: limit.saturating_sub(observed),
            reset_in: reset_in.max(1),
            reset_at: unix_now() + reset_in.max(1),
            exceeded: observed > limit,
        }
    }

    pub fn clear(&mut self) {
        self.windows.clear();
    }
}

#[derive(Debug, Default)]
pub struct AuthBan {
    failures: HashMap<IpAddr, Window>,
    banned_until: HashMap<IpAddr, Instant>,
}

impl AuthBan {
    pub fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        self.banned_until.get(&ip).is_some_and(|until| now < *until)
    }

    /// Counts a failed sign-in from `ip`; bans it once the minute's count reaches the limit.
    pub fn record_failure(&mut self, ip: IpAddr, limits: &Limits, now: Instant) {
        let mut slot = self.failures.get(&ip).copied();
        let (count, _) = Window::hit(&mut slot, now);
        if let Some(window) = slot {
            self.failures.insert(ip, window);
        }
        if count >= limits.failed_auth_ban_after {
            self.failures.remove(&ip);
            let until = now + Duration::from_secs(limits.failed_auth_ban_seconds);
            self.banned_until.insert(ip, until);
        }
    }

    /// A successful sign-in from `ip`: its failures so far are forgotten
    /// (`IpRateLimiter#reset!`); a ban already in force stays.
    pub fn forgive(&mut self, ip: IpAddr) {
        self.failures.remove(&ip);
    }

    pub fn clear(&mut self) {
        self.failures.clear();
        self.banned_until.clear();
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_down_and_then_exceeds() {
        let limits = Limits {
            authenticated_per_minute: 2,
            ..Limits::default()
        };
        let mut limiter = RateLimiter::default();
        let now = Instant::now();
        let key = Throttle::Token(1);
        assert_eq!(limiter.observe(key, &limits, now).remaining, 1);
        assert_eq!(limiter.observe(key, &limits, now).remaining, 0);
        assert!(limiter.observe(key, &limits, now).exceeded);
        let later = now + Duration::from_secs(61);
        assert!(!limiter.observe(key, &limits, later).exceeded);
    }

    #[test]
    fn ban_after_limit_failures() {
        let limits = Limits {
            failed_auth_ban_after: 2,
            ..Limits::default()
        };
        let mut ban = AuthBan::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let now = Instant::now();
        ban.record_failure(ip, &limits, now);
        assert!(!ban.is_banned(ip, now));
        ban.record_failure(ip, &limits, now);
        assert!(ban.is_banned(ip, now));
        assert!(!ban.is_banned(ip, now + Duration::from_secs(901)));
    }

    #[test]
    fn a_success_forgets_earlier_failures() {
        let limits = Limits {
            failed_auth_ban_after: 2,
            ..Limits::default()
        };
        let mut ban = AuthBan::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let now = Instant::now();
        ban.record_failure(ip, &limits, now);
        ban.forgive(ip);
        ban.record_failure(ip, &limits, now);
        assert!(!ban.is_banned(ip, now));
        ban.record_failure(ip, &limits, now);
        assert!(ban.is_banned(ip, now));
        ban.forgive(ip);
        assert!(ban.is_banned(ip, now), "a ban in force stays");
    }
}
