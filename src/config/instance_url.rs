//! Normalising a GitLab instance URL the way users paste it: default
//! `https://gitlab.com`, no trailing `/`, no `/api/v4`, http(s) only, no
//! credentials, query or fragment.

use url::Url;

pub const DEFAULT_INSTANCE: &str = "https://gitlab.com";

/// The normalised URL, or a sentence saying what is wrong and what to write.
pub fn normalize(input: &str) -> Result<Url, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(
            "the instance URL is empty; write the address of your GitLab, for example https://gitlab.com".into(),
        );
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        // "gitlab.example.com" is what people type; https is the only sane default.
        format!("https://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| format!("`{input}` is not a valid URL ({e}); write it like https://gitlab.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{input}` uses {}://, but GitLab's API is served over http(s); write it like https://gitlab.example.com",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "`{input}` has no host name; write it like https://gitlab.example.com"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{input}` contains credentials; remove them from the URL (the token is configured separately)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{input}` has a query or fragment; give only the GitLab root URL"
        ));
    }
    let path = url.path().trim_end_matches('/');
    let path = path
        .strip_suffix("/api/v4")
        .unwrap_or(path)
        .trim_end_matches('/')
        .to_owned();
    url.set_path(&path);
    Ok(url)
}

/// The URL as text without the trailing slash `Url` keeps for an empty path.
pub fn display(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_people_paste() {
        for (input, want) in [
            ("https://gitlab.com", "https://gitlab.com"),
            ("https://gitlab.com/", "https://gitlab.com"),
            ("https://gitlab.example.com/api/v4/", "https://gitlab.example.com"),
            ("gitlab.example.com", "https://gitlab.example.com"),
            ("http://127.0.0.1:8080/gitlab/", "http://127.0.0.1:8080/gitlab"),
        ] {
            assert_eq!(display(&normalize(input).unwrap()), want, "{input}");
        }
    }

    #[test]
    fn rejects_unusable_urls_with_a_reason() {
        assert!(normalize("ftp://gitlab.com").unwrap_err().contains("ftp://"));
        assert!(
            normalize("https://alice:pw@gitlab.com")
                .unwrap_err()
                .contains("credentials")
        );
        assert!(normalize("https://gitlab.com/?x=1").unwrap_err().contains("query"));
        assert!(normalize("").unwrap_err().contains("empty"));
        assert!(normalize("https://").is_err());
    }
}
