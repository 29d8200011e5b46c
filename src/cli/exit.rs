//! The exit codes of every command, in one place. Check results own 0 to 3
//! (ok, warning, critical, unknown: the Nagios order); everything that went
//! wrong with labwatch itself uses the BSD sysexits codes, so scripts can
//! tell "GitLab is down" from "the config is wrong".

/// sysexits EX_USAGE: the command line is wrong (or the admin token is missing).
pub const EX_USAGE: u8 = 64;
/// sysexits EX_DATAERR: the daemon refused the request (400, 403, 404, 409, 422).
pub const EX_DATAERR: u8 = 65;
/// sysexits EX_UNAVAILABLE: a command could not start (port taken, store
/// unusable), or no daemon answered at `--daemon`.
pub const EX_UNAVAILABLE: u8 = 69;
/// sysexits EX_SOFTWARE: labwatch could not set itself up (TLS, HTTP client).
pub const EX_SOFTWARE: u8 = 70;
/// sysexits EX_TEMPFAIL: the daemon or GitLab failed (5xx, 502, 429); retry later.
pub const EX_TEMPFAIL: u8 = 75;
/// sysexits EX_PROTOCOL: the answer is not what a labwatch daemon sends.
pub const EX_PROTOCOL: u8 = 76;
/// sysexits EX_NOPERM: wrong admin token, or the admin API is off.
pub const EX_NOPERM: u8 = 77;
/// sysexits EX_CONFIG: the config is wrong.
pub const EX_CONFIG: u8 = 78;
