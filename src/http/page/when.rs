//! Times as people read them: a UTC moment with how long ago it was, and a
//! token's expiry date with how many days are left.

use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use super::html::esc;
use crate::config::expiry_moment;
use crate::report::rfc3339;

/// `<time datetime=…>2026-11-24 20:00:03 UTC</time> (3 min ago)`.
pub fn moment(t: OffsetDateTime, now: OffsetDateTime) -> String {
    format!("{} ({})", time_tag(t), ago(now - t))
}

/// [`moment`] on two lines, for narrow table columns.
pub fn stamp(t: OffsetDateTime, now: OffsetDateTime) -> String {
    format!(r#"{}<br><span class="ago">{}</span>"#, time_tag(t), ago(now - t))
}

fn time_tag(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let shown = t
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
        .unwrap_or_default();
    format!(r#"<time datetime="{}">{shown}</time>"#, esc(&rfc3339(t)))
}

/// "just now", "5 s ago", "3 min ago", "2 h ago", "4 days ago"; a future
/// moment (a renewal due date) reads "in 3 days".
pub fn ago(d: time::Duration) -> String {
    let secs = d.whole_seconds();
    if secs < -1 {
        return format!("in {}", span(-secs));
    }
    if secs <= 1 {
        return "just now".to_owned();
    }
    format!("{} ago", span(secs))
}

/// "5 s", "3 min", "2 h", "4 days" for a positive number of seconds.
fn span(secs: i64) -> String {
    match secs {
        ..=119 => format!("{secs} s"),
        120..=7_199 => format!("{} min", secs / 60),
        7_200..=172_799 => format!("{} h", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// A token's expiry (`YYYY-MM-DD`, as GitLab gives it) with the time left
/// until its first moment, when GitLab stops taking it (the token check
/// counts the same way): "2027-01-31 (in 68 days)", "2026-11-20 (expired 4
/// days ago)". Text that is not a date is shown as it is.
pub fn expiry(date: &str, now: OffsetDateTime) -> String {
    let Ok(d) = Date::parse(date, format_description!("[year]-[month]-[day]")) else {
        return esc(date).to_string();
    };
    let left = expiry_moment(d) - now;
    let days = left.whole_days().abs();
    let plural = if days == 1 { "" } else { "s" };
    let text = match (left.is_positive(), days) {
        (true, 0) => format!("in {}", span(left.whole_seconds())),
        (true, _) => format!("in {days} day{plural}"),
        (false, 0) => format!("expired {}", ago(-left)),
        (false, _) => format!("expired {days} day{plural} ago"),
    };
    format!(r#"<time datetime="{0}">{0}</time> ({text})"#, esc(date))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn expiry_counts_whole_days_to_the_first_moment_of_the_date() {
        let now = datetime!(2026-11-24 12:00:00 UTC);
        assert!(expiry("2027-01-31", now).ends_with("(in 67 days)"));
        assert!(expiry("2026-11-26", now).ends_with("(in 1 day)"));
        assert!(expiry("2026-11-25", now).ends_with("(in 12 h)"));
        assert!(expiry("2026-11-24", now).ends_with("(expired 12 h ago)"));
        assert!(expiry("2026-11-20", now).ends_with("(expired 4 days ago)"));
        assert_eq!(expiry("<soon>", now), "&lt;soon&gt;");
    }

    #[test]
    fn moments_are_utc_with_age() {
        let now = datetime!(2026-11-24 20:03:00 UTC);
        let s = moment(datetime!(2026-11-24 21:00:00 +1), now);
        assert_eq!(
            s,
            r#"<time datetime="2026-11-24T20:00:00Z">2026-11-24 20:00:00 UTC</time> (3 min ago)"#
        );
        assert_eq!(
            stamp(datetime!(2026-11-24 20:00:00 UTC), now),
            r#"<time datetime="2026-11-24T20:00:00Z">2026-11-24 20:00:00 UTC</time><br><span class="ago">3 min ago</span>"#
        );
        assert_eq!(ago(time::Duration::days(3)), "3 days ago");
        assert_eq!(ago(-time::Duration::days(30)), "in 30 days");
        assert_eq!(ago(time::Duration::ZERO), "just now");
    }
}
