//! The open-files limit, raised at start from the soft limit to the hard
//! one, as many daemons do.
//!
//! The usual soft limit of 1,024 is a relic of `select(2)`, which labwatch
//! does not use (tokio polls with epoll). Every HTTP client and every check
//! holds descriptors: the HTTP server takes half of the limit at most for
//! its connections and leaves the rest to the checks (the library's
//! `http::server::connection_cap`), so a higher limit gives both more room.
//! The hard limit is the administrator's ceiling; labwatch never asks for
//! more than it.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. Returns the limits
/// before and after, or the error; either is only logged, since labwatch
/// works within any limit.
pub fn raise_to_hard_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live,
    // properly aligned value and has no other effect.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur == limit.rlim_max {
        return Ok((before, before));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads one `rlimit` from a live value; raising the
    // soft limit up to the hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((before, limit.rlim_cur))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let (_, after) = super::raise_to_hard_limit().expect("raising within the hard limit is allowed");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        assert_eq!((after, limit.rlim_cur), (limit.rlim_max, limit.rlim_max));
    }
}
