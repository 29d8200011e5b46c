//! A writer for the Prometheus text exposition format (version 0.0.4), for
//! the families rendered straight from the status store. Ten thousand
//! watched repositories make some forty thousand series per scrape; building
//! them as client-library objects first costs tens of milliseconds and
//! megabytes of short-lived garbage, writing the lines directly does not.

use std::fmt::Write;

/// One metric family being written: its samples go to `body`; the HELP and
/// TYPE header is added by [`Family::finish`], and only when there are
/// samples, as client libraries do.
pub struct Family {
    name: &'static str,
    help: String,
    kind: &'static str,
    body: String,
}

impl Family {
    /// A gauge family; `capacity` is the expected size of its samples.
    pub fn gauge(name: &'static str, help: String, capacity: usize) -> Family {
        Family {
            name,
            help,
            kind: "gauge",
            body: String::with_capacity(capacity),
        }
    }

    /// A counter family; its samples are totals since the process started.
    pub fn counter(name: &'static str, help: String) -> Family {
        Family {
            kind: "counter",
            ..Family::gauge(name, help, 0)
        }
    }

    /// One sample. Label names must be valid and are written in the order
    /// given (callers pass them sorted, as the client library does); values
    /// are escaped.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let out = &mut self.body;
        out.push_str(self.name);
        for (i, (name, value)) in labels.iter().enumerate() {
            out.push(if i == 0 { '{' } else { ',' });
            out.push_str(name);
            out.push_str("=\"");
            escape_label_value(out, value);
            out.push('"');
        }
        if !labels.is_empty() {
            out.push('}');
        }
        out.push(' ');
        push_value(out, value);
        out.push('\n');
    }

    /// Appends the family (header and samples) to `out`.
    pub fn finish(self, out: &mut String) {
        if self.body.is_empty() {
            return;
        }
        out.push_str("# HELP ");
        out.push_str(self.name);
        out.push(' ');
        escape_help(out, &self.help);
        out.push_str("\n# TYPE ");
        out.push_str(self.name);
        out.push(' ');
        out.push_str(self.kind);
        out.push('\n');
        out.push_str(&self.body);
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label_value(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escapes backslash and line feed.
fn escape_help(out: &mut String, help: &str) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Values as Prometheus parses them: `+Inf`, `-Inf`, `NaN`, and integral
/// values (status codes, Unix times) without a fraction.
fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Exact: integral and well inside i64 and f64's integer range.
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(labels: &[(&str, &str)], value: f64) -> String {
        let mut f = Family::gauge("x_metric", "Help with \\ and\nnewline.".into(), 0);
        f.sample(labels, value);
        let mut out = String::new();
        f.finish(&mut out);
        out
    }

    #[test]
    fn writes_header_and_escaped_sample() {
        let text = one(&[("a", "plain"), ("b", "q\"u\\o\nte")], 1.0);
        assert_eq!(
            text,
            "# HELP x_metric Help with \\\\ and\\nnewline.\n# TYPE x_metric gauge\n\
             x_metric{a=\"plain\",b=\"q\\\"u\\\\o\\nte\"} 1\n"
        );
    }

    #[test]
    fn values_use_prometheus_spelling() {
        assert!(one(&[], f64::NAN).ends_with("x_metric NaN\n"));
        assert!(one(&[], f64::INFINITY).ends_with("x_metric +Inf\n"));
        assert!(one(&[], f64::NEG_INFINITY).ends_with("x_metric -Inf\n"));
        assert!(one(&[], 0.25).ends_with("x_metric 0.25\n"));
        assert!(one(&[], 1_764_000_000.0).ends_with("x_metric 1764000000\n"));
        assert!(one(&[], -3.0).ends_with("x_metric -3\n"));
        assert!(one(&[], 1e300).ends_with(&format!("x_metric {}\n", 1e300)));
    }

    #[test]
    fn an_empty_family_writes_nothing() {
        let mut out = String::new();
        Family::gauge("x_metric", "h".into(), 0).finish(&mut out);
        assert!(out.is_empty());
    }
}
