//! Rate limiting of failed sign-ins, per client address: after
//! [`MAX_FAILURES`] wrong admin tokens within [`WINDOW`], that address may
//! not try again until the window ends. The admin token is 32 random bytes
//! or more in any sane setup, so this is not what keeps it secret; it keeps
//! a guesser from turning the page into a free oracle and makes one visible
//! in the log.
//!
//! Behind a reverse proxy every client has the proxy's address, so the
//! limit is then shared by everyone: a guesser can lock the page's sign-in
//! for a window, never the admin API or the CLI (`docs/status-page.md`).
//! IPv6 addresses count by their /64, which one host usually owns whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failed sign-ins an address may make per window.
pub const MAX_FAILURES: u32 = 5;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at most. Past this, stale entries go; if none is
/// stale, an address not yet tracked is refused until one is, so memory
/// stays bounded whatever the number of addresses trying.
const MAX_ADDRESSES: usize = 10_000;

/// Where a sign-in comes from; `None` when the server did not say (a
/// router driven without a socket, in tests).
pub type Client = Option<IpAddr>;

#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<Option<IpAddr>, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl SignInLimiter {
    /// `Err(wait)` when `client` may not try now.
    pub fn check(&self, client: Client) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let key = key(client);
        match map.get(&key) {
            Some(w) if now.duration_since(w.started) >= WINDOW => {
                map.remove(&key);
                Ok(())
            }
            Some(w) if w.failures >= MAX_FAILURES => Err(WINDOW - now.duration_since(w.started)),
            Some(_) => Ok(()),
            None if map.len() >= MAX_ADDRESSES => {
                map.retain(|_, w| now.duration_since(w.started) < WINDOW);
                if map.len() >= MAX_ADDRESSES {
                    let oldest = map.values().map(|w| w.started).min().unwrap_or(now);
                    Err(WINDOW.saturating_sub(now.duration_since(oldest)))
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Counts a failed sign-in; returns the failures in this window.
    pub fn failed(&self, client: Client) -> u32 {
        let now = Instant::now();
        let mut map = self.lock();
        let w = map.entry(key(client)).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(w.started) >= WINDOW {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures += 1;
        w.failures
    }

    /// A successful sign-in clears its address's count.
    pub fn succeeded(&self, client: Client) {
        self.lock().remove(&key(client));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, Window>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// IPv4 addresses as they are; IPv6 ones by their /64 (IPv4-mapped ones
/// as IPv4).
fn key(client: Client) -> Option<IpAddr> {
    client.map(|ip| match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_address_is_refused_after_five_failures_until_the_window_ends() {
        let limiter = SignInLimiter::default();
        let a: Client = Some("192.0.2.1".parse().unwrap());
        let b: Client = Some("192.0.2.2".parse().unwrap());
        for n in 1..=MAX_FAILURES {
            assert!(limiter.check(a).is_ok(), "attempt {n}");
            assert_eq!(limiter.failed(a), n);
        }
        let wait = limiter.check(a).unwrap_err();
        assert_eq!(wait, WINDOW);
        assert!(limiter.check(b).is_ok(), "another address is not limited");
        tokio::time::advance(WINDOW).await;
        assert!(limiter.check(a).is_ok(), "a new window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_clears_the_count_and_ipv6_counts_by_its_64() {
        let limiter = SignInLimiter::default();
        let one: Client = Some("2001:db8::1".parse().unwrap());
        let same_64: Client = Some("2001:db8::ffff:2".parse().unwrap());
        for _ in 0..MAX_FAILURES - 1 {
            limiter.failed(one);
        }
        assert_eq!(limiter.failed(same_64), MAX_FAILURES);
        assert!(limiter.check(one).is_err());
        limiter.succeeded(same_64);
        assert!(limiter.check(one).is_ok());
    }
}
