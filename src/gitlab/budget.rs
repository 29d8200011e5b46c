//! The per-workspace request budget: a token bucket at `requests_per_second`
//! (which may be below 1), plus GitLab's own word — `Retry-After` after a
//! 429 and `RateLimit-Remaining: 0` until `RateLimit-Reset` — as a
//! "not before" time that holds every request back.
//!
//! GitLab's word is capped at [`MAX_PAUSE`]: a header is only a claim, and
//! one bogus `Retry-After` (ten years, or `i64::MAX` seconds) must neither
//! silence a workspace until restart nor overflow a clock.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// What [`Budget::reserve`] decided.
enum Take {
    /// A token was taken.
    Now,
    /// A token was reserved; it is the caller's after this wait.
    After(Duration),
    /// Nothing was reserved: GitLab asked for a pause this long.
    Paused(Duration),
    /// Nothing was reserved: the wait would exceed the caller's limit.
    TooLong(Duration),
}

pub struct Budget {
    rate: f64,
    /// Tokens kept at most; bursts up to this many requests go out at once.
    burst: f64,
    state: Mutex<State>,
}

struct State {
    tokens: f64,
    refilled: Instant,
    not_before: Option<Instant>,
}

impl Budget {
    pub fn new(requests_per_second: f64) -> Budget {
        let rate = requests_per_second.max(0.001);
        let burst = rate.max(1.0);
        Budget {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                refilled: Instant::now(),
                not_before: None,
            }),
        }
    }

    /// Takes one request from the budget, waiting at most `max_wait`.
    /// Returns how long the caller would have had to wait when that is more.
    ///
    /// A caller that has to wait reserves its place first (the bucket goes
    /// below zero), so waiting callers wake one per refill in turn instead
    /// of all waking for every token and all but one going back to sleep.
    pub async fn acquire(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            match self.reserve(max_wait) {
                Take::Now => return Ok(()),
                Take::After(wait) => {
                    tokio::time::sleep(wait).await;
                    return self.sit_out_pause(max_wait).await;
                }
                // Retry-After or a spent RateLimit budget: nothing was
                // reserved, so look again once the pause is over.
                Take::Paused(wait) if wait <= max_wait => tokio::time::sleep(wait).await,
                Take::Paused(wait) | Take::TooLong(wait) => return Err(wait),
            }
        }
    }

    /// A pause GitLab asked for while a reserved caller slept holds that
    /// caller back too: the token it reserved does not outrank Retry-After.
    async fn sit_out_pause(&self, max_wait: Duration) -> Result<(), Duration> {
        while let Some(left) = self.pause_left() {
            if left > max_wait {
                return Err(left);
            }
            tokio::time::sleep(left).await;
        }
        Ok(())
    }

    /// What is left of a pause GitLab asked for, if one is on.
    pub fn pause_left(&self) -> Option<Duration> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        s.not_before.filter(|nb| *nb > now).map(|nb| nb - now)
    }

    fn reserve(&self, max_wait: Duration) -> Take {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(nb) = s.not_before {
            if nb > now {
                return Take::Paused(nb - now);
            }
            s.not_before = None;
        }
        let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.burst);
        s.refilled = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            return Take::Now;
        }
        let wait = Duration::from_secs_f64((1.0 - s.tokens) / self.rate);
        if wait > max_wait {
            return Take::TooLong(wait);
        }
        // The token that refills during `wait` is this caller's.
        s.tokens -= 1.0;
        Take::After(wait)
    }

    /// Holds requests back for `d` (GitLab said so), at most [`MAX_PAUSE`].
    pub fn pause_for(&self, d: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Capped first, then added checked: `Instant + Duration` panics on
        // overflow, and a pause that long would mean "never" anyway.
        let until = now.checked_add(d.min(MAX_PAUSE)).unwrap_or(now);
        s.not_before = Some(s.not_before.map_or(until, |nb| nb.max(until)));
    }

    /// Reads GitLab's rate-limit headers: when nothing remains, wait for the
    /// reset. Returns `RateLimit-Remaining` when present.
    pub fn observe(&self, headers: &HeaderMap) -> Option<i64> {
        let remaining = header_num(headers, "ratelimit-remaining");
        if remaining == Some(0) {
            if let Some(reset) = header_num(headers, "ratelimit-reset") {
                self.pause_for(until_epoch(reset));
            }
        }
        remaining
    }
}

/// The longest labwatch holds a workspace's requests back on GitLab's word:
/// GitLab's own windows are a minute to an hour (docs/gitlab.md §10), so an
/// hour honours every real answer while a bogus header costs at most an
/// hour of checks; after it, the next round asks again (and a real 429
/// pauses again).
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// `Retry-After`, capped at [`MAX_PAUSE`]: delay-seconds as GitLab sends
/// them (docs/gitlab.md §10), or an HTTP-date as RFC 9110 §10.2.3 also
/// allows (a proxy before GitLab may send one). `None` when it is neither;
/// a date in the past is no wait.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    let wait = if value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits that overflow u64 are still "a very long time", not garbage.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_PAUSE))
}

fn header_num(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Time until a Unix epoch second, capped at [`MAX_PAUSE`] so a clock skew
/// or a bogus header cannot stall a workspace for long.
fn until_epoch(epoch: i64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = u64::try_from(epoch).unwrap_or(0).saturating_sub(now);
    Duration::from_secs(secs).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_budget_below_one_per_second_spaces_requests_out() {
        let b = Budget::new(0.5);
        assert_eq!(b.acquire(Duration::ZERO).await, Ok(()));
        assert_eq!(b.acquire(Duration::from_secs(1)).await, Err(Duration::from_secs(2)));
        let start = Instant::now();
        assert_eq!(b.acquire(Duration::from_secs(5)).await, Ok(()));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_callers_go_out_one_per_refill_in_turn() {
        let b = std::sync::Arc::new(Budget::new(1.0));
        assert_eq!(b.acquire(Duration::ZERO).await, Ok(()));
        let start = Instant::now();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                tokio::spawn(async move { b.acquire(Duration::from_secs(10)).await.map(|()| Instant::now()) })
            })
            .collect();
        let mut at = Vec::new();
        for w in waiters {
            at.push(w.await.unwrap().unwrap() - start);
        }
        at.sort();
        assert_eq!(at, [1, 2, 3].map(Duration::from_secs));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_that_arrives_while_a_caller_waits_holds_it_back() {
        let b = std::sync::Arc::new(Budget::new(1.0));
        assert_eq!(b.acquire(Duration::ZERO).await, Ok(()));
        let start = Instant::now();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.acquire(Duration::from_secs(60)).await.map(|()| Instant::now()) })
        };
        tokio::task::yield_now().await;
        b.pause_for(Duration::from_secs(30));
        assert_eq!(waiter.await.unwrap().unwrap() - start, Duration::from_secs(30));
    }

    fn retry_after_of(value: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert("retry-after", value.parse().unwrap());
        retry_after(&h)
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_caps_both() {
        assert_eq!(retry_after_of("60"), Some(Duration::from_secs(60)));
        assert_eq!(retry_after_of(" 1830 "), Some(Duration::from_secs(1830)));
        assert_eq!(retry_after_of("315360000"), Some(MAX_PAUSE), "ten years");
        assert_eq!(retry_after_of("9223372036854775807"), Some(MAX_PAUSE));
        assert_eq!(retry_after_of("99999999999999999999999"), Some(MAX_PAUSE));
        let in_ten_minutes = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(600));
        let wait = retry_after_of(&in_ten_minutes).unwrap();
        assert!(
            wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
            "{wait:?}"
        );
        assert_eq!(retry_after_of("Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_PAUSE));
        assert_eq!(retry_after_of("Tue, 05 Jan 2021 11:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(retry_after_of("-5"), None);
        assert_eq!(retry_after_of("soon"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_pause_is_capped_and_does_not_overflow() {
        let b = Budget::new(100.0);
        b.pause_for(Duration::MAX);
        assert_eq!(b.acquire(Duration::from_secs(1)).await, Err(MAX_PAUSE));
        tokio::time::advance(MAX_PAUSE).await;
        assert_eq!(b.acquire(Duration::ZERO).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_request_back() {
        let b = Budget::new(100.0);
        b.pause_for(Duration::from_secs(30));
        assert_eq!(b.acquire(Duration::from_secs(1)).await, Err(Duration::from_secs(30)));
        let start = Instant::now();
        assert_eq!(b.acquire(Duration::from_secs(60)).await, Ok(()));
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }
}
