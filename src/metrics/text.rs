//! A writer for the Prometheus text exposition format (version 0.0.4), for
//! the families rendered straight from the status store. Ten thousand
//! watched repositories make some forty thousand series per scrape; building
//! them as client-library objects first costs tens of milliseconds and
//! megabytes of short-lived garbage, writing the lines directly does not.

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
        // One reservation for the line (its escapes aside), not one check
        // per piece that may grow the buffer.
        let text: usize = labels.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        out.reserve(self.name.len() + text + 32);
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

    /// Appends the family (header and samples) to `out`: its samples as
    /// they are, never copied.
    pub fn finish(self, out: &mut Text) {
        Family::finish_parts(vec![self], out);
    }

    /// Appends one family written in `parts` (the same name and help, each
    /// part some of its samples): one header, then each part's samples in
    /// order, none copied. Nothing when no part has samples.
    pub fn finish_parts(parts: Vec<Family>, out: &mut Text) {
        let Some(first) = parts.iter().find(|f| !f.body.is_empty()) else {
            return;
        };
        out.0.push(first.header());
        out.0
            .extend(parts.into_iter().map(|f| f.body).filter(|b| !b.is_empty()));
    }

    fn header(&self) -> String {
        let mut header = String::with_capacity(self.help.len() + 2 * self.name.len() + 32);
        header.push_str("# HELP ");
        header.push_str(self.name);
        header.push(' ');
        escape_help(&mut header, &self.help);
        header.push_str("\n# TYPE ");
        header.push_str(self.name);
        header.push(' ');
        header.push_str(self.kind);
        header.push('\n');
        header
    }
}

/// An exposition being written: the families' texts in order, kept apart
/// so that a scrape of hundreds of thousands of series is sent as written,
/// without being copied into one string first.
#[derive(Debug, Default)]
pub struct Text(Vec<String>);

impl Text {
    /// The pieces, in order.
    pub fn into_chunks(self) -> Vec<String> {
        self.0
    }

    /// All of it as one string.
    #[cfg(test)]
    pub fn into_string(self) -> String {
        self.0.concat()
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label_value(out: &mut String, value: &str) {
    // Bytes, not chars: the three are ASCII, and most values have none.
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
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
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        // The shortest text that reads back as `v`, as Go's strconv does for
        // Prometheus itself (`1e+300` there, `1e300` here: both parse).
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(labels: &[(&str, &str)], value: f64) -> String {
        let mut f = Family::gauge("x_metric", "Help with \\ and\nnewline.".into(), 0);
        f.sample(labels, value);
        let mut out = Text::default();
        f.finish(&mut out);
        out.into_string()
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
        assert!(one(&[], 1e300).ends_with("x_metric 1e300\n"));
        assert!(one(&[], 0.0012).ends_with("x_metric 0.0012\n"));
    }

    #[test]
    fn a_family_written_in_parts_has_one_header_and_every_sample_in_order() {
        let part = |value: &str| {
            let mut f = Family::gauge("x_metric", "h".into(), 0);
            if !value.is_empty() {
                f.sample(&[("a", value)], 1.0);
            }
            f
        };
        let mut out = Text::default();
        Family::finish_parts(vec![part(""), part("one"), part(""), part("two")], &mut out);
        assert_eq!(
            out.into_string(),
            "# HELP x_metric h\n# TYPE x_metric gauge\nx_metric{a=\"one\"} 1\nx_metric{a=\"two\"} 1\n"
        );
        let mut out = Text::default();
        Family::finish_parts(vec![part(""), part("")], &mut out);
        assert!(out.into_string().is_empty());
    }

    #[test]
    fn an_empty_family_writes_nothing() {
        let mut out = Text::default();
        Family::gauge("x_metric", "h".into(), 0).finish(&mut out);
        assert!(out.into_string().is_empty());
    }
}
