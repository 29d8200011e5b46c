//! One token, one workspace. GitLab revokes a token the moment it is
//! rotated (docs/gitlab.md §2), so a token two workspaces hold dies in the
//! second as soon as the first rotates it. `connect` and update token
//! refuse a token another running workspace uses (409 `token-shared`,
//! naming it) unless told `force`, and then warn in the answer.
//!
//! What is compared is GitLab's id of the token on its instance, from
//! `GET /personal_access_tokens/self`: the store and the token check keep
//! it already, so no secret is compared, hashed or stored for this. A
//! `token_file` workspace counts once its token check has read its token.

use super::{ActionError, Actions};
use crate::wire::RepoWarning;

const CODE: &str = "token-shared";

impl Actions {
    /// `Err(409 token-shared)` when token `token_id` on `instance_url` is
    /// another workspace's token too; with `force`, the warning to put in
    /// the answer instead. Nothing when no other workspace has it.
    pub(super) fn token_shared(
        &self,
        workspace: &str,
        instance_url: &str,
        token_id: u64,
        force: bool,
    ) -> Result<Vec<RepoWarning>, ActionError> {
        let others = self.runtime.sharing_token(instance_url, token_id, workspace);
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let named = others.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ");
        let (message, steps) = if force {
            (
                format!(
                    "Token {token_id} on {instance_url} is also the token of workspace {named}: rotating it in one workspace (labwatch rotate, or renewal on an alert or a schedule) revokes the other's copy."
                ),
                vec![
                    format!(
                        "Give each workspace its own token when you can: create another one in GitLab (Preferences → Access Tokens) and `labwatch renew --workspace {workspace}` with it."
                    ),
                    format!(
                        "While they share it, keep `[workspace.renewal] mode = \"manual\"` on {named} and `{workspace}`, and after renewing one, renew the others with the same new token."
                    ),
                ],
            )
        } else {
            (
                format!(
                    "Token {token_id} on {instance_url} is already the token of workspace {named}; a rotation in one workspace would revoke the other's copy, so it is not taken for `{workspace}`."
                ),
                vec![
                    format!(
                        "Create a separate token for workspace `{workspace}` in GitLab (Preferences → Access Tokens) with the scopes it needs, and use that one."
                    ),
                    "Or, if the workspaces must share this token, send the request again with `force` (`labwatch connect --force`, `labwatch renew --force`); the answer then warns.".to_owned(),
                ],
            )
        };
        if !force {
            return Err(ActionError::new(409, CODE, message).with_steps(steps));
        }
        tracing::warn!(workspace, token_id, shared_with = %named, "A token another workspace uses was taken (force)");
        Ok(vec![RepoWarning {
            path: String::new(),
            code: CODE.to_owned(),
            message,
            remediation: steps,
        }])
    }
}
