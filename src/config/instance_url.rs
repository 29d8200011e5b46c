//! Normalising a GitLab instance URL the way users paste it: default
//! `https://gitlab.com`, no trailing `/`, no `/api/v4`, http(s) only, no
//! credentials, query or fragment.
//!
//! A refused URL is quoted back to the person who typed it, and that quote
//! travels on: into the admin API's 422 body, the audit log, config errors.
//! A URL refused *because* it carries a secret (`http://oauth2:glpat-…@host`,
//! `?private_token=…`) must not carry it there, so every message here quotes
//! the input through [`redacted`], never raw.

use url::Url;

pub const DEFAULT_INSTANCE: &str = "https://gitlab.com";

/// The normalised URL, or a sentence saying what is wrong and what to write.
pub fn normalize(input: &str) -> Result<Url, String> {
    let trimmed = input.trim();
    let shown = redacted(trimmed);
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
        .map_err(|e| format!("`{shown}` is not a valid URL ({e}); write it like https://gitlab.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{shown}` uses {}://, but GitLab's API is served over http(s); write it like https://gitlab.example.com",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "`{shown}` has no host name; write it like https://gitlab.example.com"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{shown}` contains credentials; remove them from the URL (the token is configured separately)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}` has a query or fragment; give only the GitLab root URL"
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

/// `input` with whatever may be a secret replaced by `***`: the userinfo
/// (everything before the last `@` of the authority) and the query and
/// fragment. Works on the text, not on a parsed URL, so an input too broken
/// to parse is redacted too.
pub fn redacted(input: &str) -> String {
    let (scheme, rest) = match input.find("://") {
        Some(i) => input.split_at(i + 3),
        None => ("", input),
    };
    // The authority ends where the path, query or fragment starts; `\` too,
    // as the URL standard reads it as `/` in http(s) URLs.
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let path = match tail.find(['?', '#']) {
        Some(i) => format!("{}{}***", &tail[..i], &tail[i..i + 1]),
        None => tail.to_owned(),
    };
    format!("{scheme}{host}{path}")
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

    #[test]
    fn refusals_never_quote_a_secret() {
        for input in [
            "http://oauth2:glpat-SECRETxxxxxxxxxxxxxx@gitlab.example.com",
            "https://glpat-SECRETxxxxxxxxxxxxxx@gitlab.example.com/",
            "oauth2:glpat-SECRETxxxxxxxxxxxxxx@gitlab.example.com",
            "https://gitlab.example.com/?private_token=glpat-SECRETxxxxxxxxxxxxxx",
            "https://gitlab.example.com/api/v4#glpat-SECRETxxxxxxxxxxxxxx",
            "ftp://oauth2:glpat-SECRETxxxxxxxxxxxxxx@gitlab.example.com",
            "http://oauth2:glpat-SECRETxxxxxxxxxxxxxx@gitlab.example.com:99999",
        ] {
            let message = normalize(input).unwrap_err();
            assert!(!message.contains("SECRET"), "{input} → {message}");
            assert!(message.contains("gitlab.example.com"), "{input} → {message}");
        }
        assert_eq!(
            redacted("http://oauth2:pw@host:8080/gl?private_token=x#y"),
            "http://***@host:8080/gl?***"
        );
        assert_eq!(redacted("https://gitlab.example.com/x"), "https://gitlab.example.com/x");
    }
}
