//! Reading the two secrets an admin command needs: the admin token (a file
//! or `LABWATCH_ADMIN_TOKEN`) and the GitLab token (a file or one line of
//! stdin). Each becomes a [`SecretString`] at once and the buffers it passed
//! through are zeroized; no error message ever quotes either.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::error::AdminError;

/// Where the admin token comes from when `--admin-token-file` is not given.
pub const ADMIN_TOKEN_ENV: &str = "LABWATCH_ADMIN_TOKEN";

/// The admin token: `--admin-token-file` wins over `LABWATCH_ADMIN_TOKEN`
/// (`env` is that variable's value, passed in so tests need no process env).
pub fn admin_token(file: Option<&Path>, env: Option<String>) -> Result<SecretString, AdminError> {
    if let Some(path) = file {
        return from_file(path, "--admin-token-file");
    }
    let env = Zeroizing::new(env.unwrap_or_default());
    if env.trim().is_empty() {
        return Err(AdminError::usage("no admin token: this command needs the daemon's admin token")
            .step("Pass the file the daemon's `admin_token_file` ([server] in its config) names: --admin-token-file FILE.")
            .step(format!("Or put the token in the {ADMIN_TOKEN_ENV} environment variable.")));
    }
    one_word(&env, ADMIN_TOKEN_ENV)
}

/// The GitLab token: from `file`, else one line of stdin (with a prompt on
/// stderr when stdin is a terminal).
pub fn gitlab_token(file: Option<&Path>, workspace: &str) -> Result<SecretString, AdminError> {
    match file {
        Some(path) => from_file(path, "--token-file"),
        None => from_stdin(workspace),
    }
}

fn from_file(path: &Path, flag: &str) -> Result<SecretString, AdminError> {
    // A pipe too: `--token-file <(pass show gitlab)` keeps the token out of
    // argv and off the disk.
    let text = crate::files::read_text_capped_or_pipe(path, crate::files::MAX_TOKEN_FILE)
        .map(Zeroizing::new)
        .map_err(|e| {
            AdminError::usage(format!("cannot read {flag} `{}`: {e}", path.display()))
                .step(format!("Point {flag} at a readable file that holds only the token."))
        })?;
    one_word(&text, &format!("{flag} `{}`", path.display()))
}

/// Reads one line. Blocking is fine: the command does nothing else meanwhile.
fn from_stdin(workspace: &str) -> Result<SecretString, AdminError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "Paste the personal access token for {workspace} (input hidden is not supported; it is not echoed to logs): "
        );
        let _ = err.flush();
    }
    let mut line = Zeroizing::new(String::new());
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| AdminError::usage(format!("cannot read the token from stdin: {e}")))?;
    if line.trim().is_empty() {
        return Err(AdminError::usage("no token on stdin")
            .step(format!(
                "Pipe the token in: `labwatch … --workspace {workspace} < token.txt`."
            ))
            .step("Or pass --token-file FILE (a file holding only the token)."));
    }
    one_word(&line, "stdin")
}

/// The trimmed text as a secret; empty or with inner whitespace is refused
/// (a GitLab or admin token is one word), without quoting it.
fn one_word(text: &str, source: &str) -> Result<SecretString, AdminError> {
    let token = text.trim();
    if token.is_empty() {
        return Err(AdminError::usage(format!("{source} holds no token")).step("Put the token, alone, on one line."));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            AdminError::usage(format!("{source} holds more than one word; a token is a single word"))
                .step("Put the token, alone, on one line."),
        );
    }
    Ok(SecretString::from(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_file_wins_over_the_environment_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin");
        std::fs::write(&path, "from-file\n").unwrap();
        let t = admin_token(Some(&path), Some("from-env".into())).unwrap();
        assert_eq!(t.expose_secret(), "from-file");
        assert_eq!(
            admin_token(None, Some(" from-env\r\n".into())).unwrap().expose_secret(),
            "from-env"
        );
    }

    #[test]
    fn a_missing_admin_token_is_a_usage_error_naming_both_ways() {
        for env in [None, Some(String::new())] {
            let e = admin_token(None, env).unwrap_err();
            assert_eq!(e.exit_code(), 64);
            let text = e.render();
            assert!(
                text.contains("--admin-token-file") && text.contains(ADMIN_TOKEN_ENV),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_token_files_are_refused_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "glpat-secret-one glpat-secret-two\n").unwrap();
        let e = gitlab_token(Some(&path), "acme").unwrap_err();
        assert!(!e.render().contains("glpat-secret"), "{}", e.render());
        std::fs::write(&path, "\n").unwrap();
        assert!(
            gitlab_token(Some(&path), "acme")
                .unwrap_err()
                .message
                .contains("holds no token")
        );
        let missing = gitlab_token(Some(&dir.path().join("nope")), "acme").unwrap_err();
        assert!(
            missing.message.contains("cannot read --token-file"),
            "{}",
            missing.message
        );
    }
}
