//! The pending-rotation marker: written before labwatch asks GitLab to
//! rotate a token and cleared once the new token is stored, so a crash in
//! between is diagnosed on restart (`token-lost-in-rotation`) instead of being
//! retried with a token GitLab already revoked. It holds no secret.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A rotation that was started and not yet finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationMarker {
    pub workspace: String,
    /// The token being rotated; GitLab revokes it when the rotation succeeds.
    pub old_token_id: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// What started it: "schedule", "alert" or "manual".
    pub trigger: String,
}
