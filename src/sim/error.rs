//! The error of the simulator's Rust API and control API: a record that does
//! not exist, an operation that does not make sense, or a socket problem.

/// Why a simulator operation failed; the text names the record and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No user, token or project matches (control API: 404).
    #[error("{0}")]
    NotFound(String),
    /// The operation's input is invalid (control API: 400).
    #[error("{0}")]
    Invalid(String),
    /// The listener could not be used.
    #[error("the simulator cannot serve: {0}")]
    Io(#[from] std::io::Error),
}
