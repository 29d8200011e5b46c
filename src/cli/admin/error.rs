//! [`AdminError`]: why an admin command did not do what was asked, as a
//! message, the numbered steps that fix it, and a sysexits exit code.

use std::fmt::Write;

use crate::cli::exit::{EX_DATAERR, EX_NOPERM, EX_PROTOCOL, EX_SOFTWARE, EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE};

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
pub struct AdminError {
    pub kind: Kind,
    /// The daemon's reason code (`token-expired`, `conflict`, …) when it sent one.
    pub code: Option<String>,
    pub message: String,
    pub remediation: Vec<String>,
    /// The fields the daemon refused (`invalid-workspace`), each with its problem.
    pub fields: Vec<crate::wire::FieldError>,
}

impl AdminError {
    pub fn new(kind: Kind, message: impl Into<String>) -> AdminError {
        AdminError {
            kind,
            code: None,
            message: message.into(),
            remediation: Vec::new(),
            fields: Vec::new(),
        }
    }

    pub fn usage(message: impl Into<String>) -> AdminError {
        AdminError::new(Kind::Usage, message)
    }

    pub fn step(mut self, step: impl Into<String>) -> AdminError {
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
        for f in &self.fields {
            let field = if f.field.is_empty() { "(body)" } else { f.field.as_str() };
            let _ = writeln!(out, "  {field}: {}", f.message);
        }
        for (i, step) in self.remediation.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", i + 1);
        }
        out
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AdminError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_numbers_the_steps_after_the_message_and_code() {
        let mut e = AdminError::new(Kind::Rejected, "The token expired.")
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
