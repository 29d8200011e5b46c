//! Watched repositories as users write them: `group/project`, or a URL copied
//! from the browser or the clone dialog.

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

    /// Drops the host when it is the instance's own (`host[:port]`).
    pub fn relative_to(mut self, instance_host: &str) -> RepositoryRef {
        if self
            .host
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(instance_host))
        {
            self.host = None;
        }
        self
    }

    /// Accepts `group/project`, `https://host/group/project(.git)`, and
    /// browser URLs with a `/-/…` suffix. The error says what was expected.
    /// The host of a URL as `host[:port]`, the form [`RepositoryRef::host`] uses.
    pub fn host_of(url: &Url) -> String {
        match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        }
    }

    pub fn parse(written: &str) -> Result<RepositoryRef, String> {
        let trimmed = written.trim();
        let (host, path) = if trimmed.contains("://") {
            let url = Url::parse(trimmed).map_err(|e| {
                format!("`{written}` is not a valid URL ({e}); write `group/project` or the project's https URL")
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "`{written}` uses {}://; write `group/project` or the project's http(s) URL (SSH URLs are not supported)",
                    url.scheme()
                ));
            }
            let host = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => return Err(format!("`{written}` has no host")),
            };
            (Some(host), url.path().to_owned())
        } else if trimmed.starts_with("git@") {
            return Err(format!(
                "`{written}` is an SSH address; write `group/project` or the project's https URL"
            ));
        } else {
            (None, trimmed.to_owned())
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
        Ok(RepositoryRef {
            path,
            host,
            written: written.to_owned(),
        })
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
    fn rejects_what_is_not_a_project() {
        assert!(RepositoryRef::parse("backend").unwrap_err().contains("group/project"));
        assert!(
            RepositoryRef::parse("git@gitlab.com:a/b.git")
                .unwrap_err()
                .contains("SSH")
        );
        assert!(RepositoryRef::parse("ftp://x/a/b").unwrap_err().contains("ftp"));
        assert!(RepositoryRef::parse("a/b c").is_err());
    }
}
