//! Watched repositories as users write them: `group/project`, or a URL copied
//! from the browser or the clone dialog, HTTP(S) or SSH
//! (`git@host:group/project.git`, `ssh://git@host[:port]/group/project.git`).

use std::fmt;

use url::Url;

/// A repository reference, reduced to what the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRef {
    /// Full path, `group/subgroup/project`.
    pub path: String,
    /// Host (and port) when given as a URL on a host other than the
    /// workspace's instance: a repository that lives on another GitLab.
    /// `None` for paths and for URLs on the instance itself.
    pub host: Option<String>,
    /// What the user wrote, for messages.
    pub written: String,
    /// Given as an SSH address: its host is compared with the instance's
    /// without the port, since an SSH port says nothing about the HTTP one.
    pub ssh: bool,
    /// The capabilities this repository needs, when its entry is a table
    /// that says (`{ path = …, capabilities = [...] }`): they replace the
    /// workspace's `capabilities` for it.
    pub capabilities: Option<Vec<&'static str>>,
}

impl fmt::Display for RepositoryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

impl RepositoryRef {
    /// The check target: the path, prefixed with the host for repositories
    /// on another instance, so `acme/app` here and `acme/app` elsewhere are
    /// two checks.
    pub fn key(&self) -> String {
        match &self.host {
            Some(h) => format!("{h}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// Drops the host when it is the instance's own (`host[:port]`; for an
    /// SSH address, the host alone).
    pub fn relative_to(mut self, instance_host: &str) -> RepositoryRef {
        let instance_host = if self.ssh {
            without_port(instance_host)
        } else {
            instance_host
        };
        if self
            .host
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(instance_host))
        {
            self.host = None;
        }
        self
    }

    /// The host of a URL as `host[:port]`, the form [`RepositoryRef::host`] uses.
    pub fn host_of(url: &Url) -> String {
        match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        }
    }

    /// Accepts `group/project`, `https://host/group/project(.git)`, browser
    /// URLs with a `/-/…` suffix, and the clone dialog's SSH addresses,
    /// `git@host:group/project.git` and `ssh://git@host[:port]/group/project.git`.
    /// The error says what was expected.
    pub fn parse(written: &str) -> Result<RepositoryRef, String> {
        // A URL copied with `user:token@` in it: the token must not reach
        // a message, a log line or `/status`, so it is refused, and shown
        // without it.
        if let Some(shown) = credentials_hidden(written) {
            return Err(format!(
                "`{shown}` holds a password or token before the host; labwatch uses the workspace's own token \
                 (its connection or token_file), never one in a repository URL: remove `user:password@` from it"
            ));
        }
        let trimmed = written.trim();
        let (host, path, ssh) = if trimmed.contains("://") {
            let url = Url::parse(trimmed).map_err(|e| {
                format!("`{written}` is not a valid URL ({e}); write `group/project` or the project's https URL")
            })?;
            let ssh = match url.scheme() {
                "http" | "https" => false,
                "ssh" => true,
                other => {
                    return Err(format!(
                        "`{written}` uses {other}://; write `group/project`, the project's http(s) URL or its SSH clone address"
                    ));
                }
            };
            let host = match (url.host_str(), url.port()) {
                (Some(h), _) if ssh => h.to_owned(),
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => return Err(format!("`{written}` has no host")),
            };
            if host.is_empty() {
                return Err(format!("`{written}` has no host"));
            }
            (Some(host), url.path().to_owned(), ssh)
        } else if let Some((host, path)) = scp_like(trimmed) {
            if host.is_empty() {
                return Err(format!(
                    "`{written}` has no host; an SSH address looks like `git@gitlab.example.com:group/project.git`"
                ));
            }
            if !host.chars().all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c)) {
                return Err(format!(
                    "`{written}` does not start with a host name; an SSH address looks like `git@gitlab.example.com:group/project.git`"
                ));
            }
            (Some(host.to_owned()), path.to_owned(), true)
        } else {
            (None, trimmed.to_owned(), false)
        };
        let path = clean_path(&path);
        if path.split('/').filter(|s| !s.is_empty()).count() < 2 {
            return Err(format!(
                "`{written}` does not name a project; write the full path, for example `group/project`"
            ));
        }
        if let Some(bad) = path.chars().find(|c| !is_path_char(*c)) {
            return Err(format!("`{written}` contains `{bad}`, which GitLab paths cannot hold"));
        }
        if path.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(format!(
                "`{written}` has an empty, `.` or `..` path segment; write the full path, for example `group/project`"
            ));
        }
        Ok(RepositoryRef {
            path,
            host,
            written: written.to_owned(),
            ssh,
            capabilities: None,
        })
    }
}

/// `[user@]host:path`, git's "scp-like" SSH syntax, as GitLab's clone
/// dialog prints it: the host and the path. `None` when `text` is not of
/// that shape: no `:`, or a `/` before it (then it is a path).
fn scp_like(text: &str) -> Option<(&str, &str)> {
    let (before, path) = text.split_once(':')?;
    if before.contains('/') {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
    Some((host, path))
}

/// `written` with the password of its user part (`user:secret@` before
/// the host, in a URL or an SCP-like address) replaced by `***`, when it
/// has one. A user name alone (`git@`) is no secret.
fn credentials_hidden(written: &str) -> Option<String> {
    // Most references are plain paths: one scan for `@` settles those.
    if !written.contains('@') {
        return None;
    }
    let (scheme, rest) = match written.find("://") {
        Some(i) => written.split_at(i + 3),
        None => ("", written),
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            Some(format!("{scheme}{user}:***{}", &rest[at..]))
        }
        _ => None,
    }
}

/// `host` of `host:port` (`[v6]` of `[v6]:port`).
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Strips what browsers and clone dialogs add around a project path.
fn clean_path(path: &str) -> String {
    let path = path.split("/-/").next().unwrap_or(path);
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    path.to_owned()
}

fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_address_is_refused_and_never_shown() {
        let secret = "glpat-canary-in-a-url-0123";
        for written in [
            format!("https://oauth2:{secret}@gitlab.com/acme/backend.git"),
            format!("ssh://git:{secret}@gitlab.com/acme/backend.git"),
            format!("oauth2:{secret}@gitlab.com:acme/backend.git"),
            format!("https://oauth2:{secret}@"),
        ] {
            let e = RepositoryRef::parse(&written).unwrap_err();
            assert!(!e.contains(secret), "{e}");
            assert!(e.contains("remove `user:password@`"), "{e}");
        }
        // A user name alone is how clone dialogs write SSH addresses.
        let r = RepositoryRef::parse("ssh://git@gitlab.com/acme/backend.git").unwrap();
        assert_eq!(r.path, "acme/backend");
        let r = RepositoryRef::parse("https://alice@gitlab.com/acme/backend").unwrap();
        assert_eq!(r.written, "https://alice@gitlab.com/acme/backend");
    }

    #[test]
    fn accepts_paths_and_urls() {
        let r = RepositoryRef::parse("acme/backend").unwrap();
        assert_eq!((r.path.as_str(), r.host), ("acme/backend", None));
        let r = RepositoryRef::parse("https://gitlab.com/acme/sub/frontend.git").unwrap();
        assert_eq!(r.path, "acme/sub/frontend");
        assert_eq!(r.host.as_deref(), Some("gitlab.com"));
        let r = RepositoryRef::parse("https://git.example.com:8443/a/b/-/tree/main").unwrap();
        assert_eq!(r.path, "a/b");
        assert_eq!(r.host.as_deref(), Some("git.example.com:8443"));
    }

    #[test]
    fn ssh_addresses_match_the_instance_by_host_alone() {
        let r = RepositoryRef::parse("git@git.example.com:a/sub/b.git")
            .unwrap()
            .relative_to("git.example.com:8443");
        assert_eq!((r.path.as_str(), r.host), ("a/sub/b", None));
        let r = RepositoryRef::parse("ssh://git@git.example.com:2222/a/b.git")
            .unwrap()
            .relative_to("git.example.com");
        assert_eq!((r.path.as_str(), r.host), ("a/b", None));
        let r = RepositoryRef::parse("git@other.example:a/b.git")
            .unwrap()
            .relative_to("git.example.com");
        assert_eq!(r.key(), "other.example/a/b");
    }

    #[test]
    fn rejects_what_is_not_a_project() {
        assert!(RepositoryRef::parse("backend").unwrap_err().contains("group/project"));
        assert!(RepositoryRef::parse("git@:a/b.git").unwrap_err().contains("no host"));
        assert!(RepositoryRef::parse("git@h:a/../b").unwrap_err().contains("`..`"));
        assert!(RepositoryRef::parse("ftp://x/a/b").unwrap_err().contains("ftp"));
        assert!(RepositoryRef::parse("a/b c").is_err());
    }
}
