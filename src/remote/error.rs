//! [`RemoteError`]: why an admin command did not do what was asked, as a
//! message, the numbered steps that fix it, and a sysexits exit code.

use std::fmt::Write;

/// sysexits EX_USAGE: the command line (or the missing admin token) is wrong.
pub const EX_USAGE: u8 = 64;
/// sysexits EX_DATAERR: the daemon refused the request (400, 403, 404, 409, 422).
pub const EX_DATAERR: u8 = 65;
/// sysexits EX_SOFTWARE: labwatch could not set itself up (TLS, HTTP client).
pub const EX_SOFTWARE: u8 = 70;
/// sysexits EX_UNAVAILABLE: no daemon answered at `--daemon`.
pub const EX_UNAVAILABLE: u8 = 69;
/// sysexits EX_TEMPFAIL: the daemon or GitLab failed (5xx, 502, 429); retry later.
pub const EX_TEMPFAIL: u8 = 75;
/// sysexits EX_PROTOCOL: the answer is not what a labwatch daemon sends.
pub const EX_PROTOCOL: u8 = 76;
/// sysexits EX_NOPERM: wrong admin token, or the admin API is off.
pub const EX_NOPERM: u8 = 77;

/// What went wrong, in the terms of the exit code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Rejected,
    Unreachable,
    Internal,
    Temporary,
    Protocol,
    Denied,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Usage => EX_USAGE,
            Kind::Rejected => EX_DATAERR,
            Kind::Unreachable => EX_UNAVAILABLE,
            Kind::Internal => EX_SOFTWARE,
            Kind::Temporary => EX_TEMPFAIL,
            Kind::Protocol => EX_PROTOCOL,
            Kind::Denied => EX_NOPERM,
        }
    }
}

/// Never holds a token: messages come from the daemon (which never echoes
/// one) or are written here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub kind: Kind,
    /// The daemon's reason code (`token-expired`, `conflict`, …) when it sent one.
    pub code: Option<String>,
    pub message: String,
    pub remediation: Vec<String>,
}

impl RemoteError {
    pub fn new(kind: Kind, message: impl Into<String>) -> RemoteError {
        RemoteError {
            kind,
            code: None,
            message: message.into(),
            remediation: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> RemoteError {
        RemoteError::new(Kind::Usage, message)
    }

    pub fn step(mut self, step: impl Into<String>) -> RemoteError {
        self.remediation.push(step.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// `error: message (code)` and the numbered steps, for stderr.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}", self.message);
        if let Some(code) = &self.code {
            let _ = write!(out, " ({code})");
        }
        out.push('\n');
        for (i, step) in self.remediation.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", i + 1);
        }
        out
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_numbers_the_steps_after_the_message_and_code() {
        let mut e = RemoteError::new(Kind::Rejected, "The token expired.")
            .step("Create a new token.")
            .step("Renew.");
        e.code = Some("token-expired".into());
        assert_eq!(
            e.render(),
            "error: The token expired. (token-expired)\n  1. Create a new token.\n  2. Renew.\n"
        );
        assert_eq!(e.exit_code(), 65);
    }

    #[test]
    fn exit_codes_are_distinct() {
        let kinds = [
            Kind::Usage,
            Kind::Rejected,
            Kind::Unreachable,
            Kind::Temporary,
            Kind::Protocol,
            Kind::Denied,
        ];
        let mut codes: Vec<u8> = kinds.iter().map(|k| k.exit_code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }
}
