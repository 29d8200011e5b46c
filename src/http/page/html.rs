//! HTML text helpers: escaping (every string from GitLab, plugins or config
//! goes through [`esc`]), inline code for `backticked` words, status badges.

use std::fmt;

use crate::engine::Status;

/// Text escaped for HTML element content and double- or single-quoted
/// attribute values.
pub struct Esc<'a>(pub &'a str);

/// Shorthand for [`Esc`].
pub fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// Escaped text whose `backticked` parts become `<code>`, the way summaries
/// and remediation steps quote commands and names. An unpaired backtick
/// stays a backtick.
pub struct Inline<'a>(pub &'a str);

impl fmt::Display for Inline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.split('`').collect();
        // An even number of parts means an odd number of backticks: the
        // last one has no partner.
        let paired = if parts.len() % 2 == 0 {
            parts.len() - 1
        } else {
            parts.len()
        };
        for (i, part) in parts.iter().enumerate() {
            if i >= paired {
                write!(f, "`{}", esc(part))?;
            } else if i % 2 == 1 {
                write!(f, "<code>{}</code>", esc(part))?;
            } else {
                write!(f, "{}", esc(part))?;
            }
        }
        Ok(())
    }
}

/// The start of every HTML document labwatch serves, up to `</head>`:
/// `title` (escaped here) and `extra` head elements (HTML) before the
/// shared styles.
pub fn head(out: &mut String, title: &str, extra: &str) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>labwatch: {title}</title>
<link rel="icon" href="data:,">
{extra}<style>{style}</style>
</head>
"#,
        title = esc(title),
        style = super::STYLE,
    );
}

/// A status badge: the word (never colour alone) on the status colour.
pub struct Badge(pub Status);

impl fmt::Display for Badge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_str();
        write!(f, r#"<span class="badge st-{s}">{}</span>"#, s.to_uppercase())
    }
}

/// A string usable in an `id` attribute and a `#fragment`: letters, digits
/// and `-`, everything else as `_XX` hex, so distinct names stay distinct.
pub fn id_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        let s = esc(r#"<script>alert("x" & 'y')</script>"#).to_string();
        assert_eq!(s, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
    }

    #[test]
    fn backticks_become_code_and_stay_escaped() {
        assert_eq!(
            Inline("Run `labwatch renew <ws>` now").to_string(),
            "Run <code>labwatch renew &lt;ws&gt;</code> now"
        );
        assert_eq!(Inline("a ` b").to_string(), "a ` b");
        assert_eq!(Inline("`x` and `y").to_string(), "<code>x</code> and `y");
    }

    #[test]
    fn ids_keep_distinct_names_distinct() {
        assert_eq!(id_part("acme/back end"), "acme_2fback_20end");
        assert_ne!(id_part("a_b"), id_part("a-b"));
    }
}
