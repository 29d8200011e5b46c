//! Nagios performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`,
//! items separated by spaces, labels with spaces in single quotes (`''` is a
//! quote), and how the items become measurements.
//!
//! Measurement names carry the unit, values are in base units (Prometheus
//! practice): `time=250ms` becomes `time_seconds = 0.25`, `/=2.5GB` becomes
//! `/_bytes`, `load=90%` becomes `load_percent = 90`. A plain upper-bound
//! threshold (`10` or `0:10`) becomes `<name>_warning` / `<name>_critical`;
//! min and max become `<name>_min` / `<name>_max`. Other threshold ranges
//! (`10:`, `@5:10`, `~:3`) are checked for syntax but not exported.

/// One perfdata item, values in the plugin's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Perfdata {
    pub label: String,
    /// `None` for `U`: the plugin could not measure it.
    pub value: Option<f64>,
    pub unit: String,
    pub warn: Option<Range>,
    pub crit: Option<Range>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A Nagios threshold range: alert outside `start..=end`, or inside it
/// with `@`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub start: f64,
    pub end: f64,
    pub inside: bool,
}

/// Longest label kept; longer ones are cut (they become metric label values).
const MAX_LABEL: usize = 128;

/// Parses every item of a perfdata text (one or more lines).
pub fn parse(text: &str) -> Result<Vec<Perfdata>, String> {
    let mut items = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (label, after) = label(rest)?;
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        items.push(item(label, &after[..end])?);
        rest = after[end..].trim_start();
    }
    Ok(items)
}

/// The label and the text after its `=`.
fn label(text: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut label = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                label.push(c);
                continue;
            }
            if quoted[i + 1..].starts_with('\'') {
                label.push('\'');
                chars.next();
                continue;
            }
            let after = &quoted[i + 1..];
            return match after.strip_prefix('=') {
                // An empty name would make a nameless measurement, which the
                // JSON protocol refuses too.
                Some(_) if label.is_empty() => {
                    Err("perfdata label '' is empty; give every item a name, like 'free space'=42%".to_owned())
                }
                Some(after) => Ok((cut(label), after)),
                None => Err(format!("perfdata label '{label}' is not followed by `=`")),
            };
        }
        return Err(format!("perfdata label '{label} lacks its closing quote"));
    }
    let end = text.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(text.len());
    match text[end..].strip_prefix('=') {
        Some(after) if end > 0 => Ok((cut(text[..end].to_owned()), after)),
        _ => {
            let word: String = text
                .split_whitespace()
                .next()
                .unwrap_or(text)
                .chars()
                .take(40)
                .collect();
            Err(format!(
                "perfdata item `{word}` is not label=value (a label with spaces must be in single quotes: 'my label'=1)"
            ))
        }
    }
}

fn cut(label: String) -> String {
    label.chars().take(MAX_LABEL).collect()
}

/// `value[UOM];warn;crit;min;max` of one label.
fn item(label: String, data: &str) -> Result<Perfdata, String> {
    let mut fields = data.split(';');
    let value_field = fields.next().unwrap_or("");
    let (value, unit) = if value_field == "U" {
        (None, String::new())
    } else {
        let split = numeric_prefix(value_field);
        if split == 0 {
            return Err(format!(
                "perfdata `{label}`: `{value_field}` does not start with a number (or U for unknown)"
            ));
        }
        let value = number(&value_field[..split], &label, "value")?;
        (Some(value), value_field[split..].to_owned())
    };
    if !unit.chars().all(|c| c.is_ascii_alphabetic() || c == '%' || c == '/') {
        return Err(format!("perfdata `{label}`: `{unit}` is not a unit of measure"));
    }
    let mut next = || fields.next().filter(|f| !f.is_empty());
    let warn = next().map(|r| range(r, &label, "warning threshold")).transpose()?;
    let crit = next().map(|r| range(r, &label, "critical threshold")).transpose()?;
    let min = next().map(|v| number(v, &label, "min")).transpose()?;
    let max = next().map(|v| number(v, &label, "max")).transpose()?;
    Ok(Perfdata {
        label,
        value,
        unit,
        warn,
        crit,
        min,
        max,
    })
}

/// Length of the leading number (sign, digits, point, exponent).
fn numeric_prefix(text: &str) -> usize {
    let b = text.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i == digits_start {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    i
}

fn number(text: &str, label: &str, what: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("perfdata `{label}`: {what} `{text}` is not a number"))
}

/// `10`, `10:`, `~:10`, `10:20`, `@10:20`.
fn range(text: &str, label: &str, what: &str) -> Result<Range, String> {
    let (inside, body) = match text.strip_prefix('@') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let bad =
        || format!("perfdata `{label}`: {what} `{text}` is not a Nagios range (like 10, 10:, ~:10, 10:20 or @10:20)");
    let (start, end) = match body.split_once(':') {
        None => (0.0, number(body, label, what).map_err(|_| bad())?),
        Some((s, e)) => {
            let start = match s {
                "~" => f64::NEG_INFINITY,
                "" => 0.0,
                s => number(s, label, what).map_err(|_| bad())?,
            };
            let end = if e.is_empty() {
                f64::INFINITY
            } else {
                number(e, label, what).map_err(|_| bad())?
            };
            (start, end)
        }
    };
    if start > end {
        return Err(format!("perfdata `{label}`: {what} `{text}` starts after it ends"));
    }
    Ok(Range { start, end, inside })
}

/// Name suffix and factor to base units.
fn unit(unit: &str) -> (String, f64) {
    let (suffix, factor) = match unit {
        "" | "c" => ("", 1.0),
        "s" => ("_seconds", 1.0),
        "ms" => ("_seconds", 1e-3),
        "us" => ("_seconds", 1e-6),
        "%" => ("_percent", 1.0),
        "B" => ("_bytes", 1.0),
        "KB" | "KiB" | "kB" => ("_bytes", 1024.0),
        "MB" | "MiB" => ("_bytes", 1024.0 * 1024.0),
        "GB" | "GiB" => ("_bytes", 1024.0 * 1024.0 * 1024.0),
        "TB" | "TiB" => ("_bytes", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        other => {
            let clean: String = other
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            return (format!("_{clean}"), 1.0);
        }
    };
    (suffix.to_owned(), factor)
}

/// The measurements of `items`, most important first: every value, then
/// thresholds, min and max. The caller keeps as many as its cap allows.
pub fn measurements(items: &[Perfdata]) -> Vec<(String, f64)> {
    let mut values = Vec::new();
    let mut extras = Vec::new();
    for item in items {
        let (suffix, factor) = unit(&item.unit);
        let name = format!("{}{suffix}", item.label);
        if let Some(v) = item.value {
            values.push((name.clone(), v * factor));
        }
        for (kind, range) in [("warning", &item.warn), ("critical", &item.crit)] {
            if let Some(r) = range
                .as_ref()
                .filter(|r| !r.inside && r.start == 0.0 && r.end.is_finite())
            {
                extras.push((format!("{name}_{kind}"), r.end * factor));
            }
        }
        if let Some(v) = item.min {
            extras.push((format!("{name}_min"), v * factor));
        }
        if let Some(v) = item.max {
            extras.push((format!("{name}_max"), v * factor));
        }
    }
    values.extend(extras);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        let items =
            parse("time=0.25s;1;5;0;10 'free space'=2GB;;;0 'it''s'=3 load=90%;@80:90;~:95 n=U x=1e3c").unwrap();
        assert_eq!(items.len(), 6);
        assert_eq!(items[0].label, "time");
        assert_eq!(
            items[0].warn,
            Some(Range {
                start: 0.0,
                end: 1.0,
                inside: false
            })
        );
        assert_eq!(items[0].max, Some(10.0));
        assert_eq!(items[1].label, "free space");
        assert_eq!(items[1].min, Some(0.0));
        assert_eq!(items[2].label, "it's");
        assert_eq!(
            items[3].warn,
            Some(Range {
                start: 80.0,
                end: 90.0,
                inside: true
            })
        );
        assert_eq!(items[3].crit.as_ref().unwrap().start, f64::NEG_INFINITY);
        assert_eq!(items[4].value, None);
        assert_eq!(items[5].value, Some(1000.0));
    }

    #[test]
    fn measurements_use_base_units() {
        let m = measurements(&parse("rt=250ms;500;1000 disk=1KB;;;0;4 load=5%;10:").unwrap());
        let get = |n: &str| m.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
        assert_eq!(get("rt_seconds"), Some(0.25));
        assert_eq!(get("rt_seconds_warning"), Some(0.5));
        assert_eq!(get("rt_seconds_critical"), Some(1.0));
        assert_eq!(get("disk_bytes"), Some(1024.0));
        assert_eq!(get("disk_bytes_max"), Some(4096.0));
        assert_eq!(get("load_percent"), Some(5.0));
        assert_eq!(get("load_percent_warning"), None, "10: is a lower bound");
        assert_eq!(m[0].0, "rt_seconds", "values come first");
    }

    #[test]
    fn malformed_items_are_named() {
        assert!(
            parse("time=fast")
                .unwrap_err()
                .contains("`fast` does not start with a number")
        );
        assert!(parse("free space=1").unwrap_err().contains("single quotes"));
        assert!(parse("'open=1").unwrap_err().contains("closing quote"));
        assert!(parse("a=1;x").unwrap_err().contains("not a Nagios range"));
        assert!(parse("a=1;;;zero").unwrap_err().contains("min `zero` is not a number"));
        assert!(parse("a=1;20:10").unwrap_err().contains("starts after it ends"));
        assert!(parse("a=1.2.3").unwrap_err().contains("not a number"));
    }

    /// Found by the `plugin_output` fuzz target: a quoted empty label gave
    /// a measurement without a name.
    #[test]
    fn an_empty_quoted_label_is_refused() {
        assert!(parse("''=2c").unwrap_err().contains("label '' is empty"));
        // The fuzzer's input: `r` (114, exit code 2), then stdout, lossy UTF-8.
        let stdout = "e]s=0.5spac0{\n  \"lac\": 9c=2GB;0$OGt cm|\u{fffd}ace'=2GB;;0 ''=2c\n";
        assert!(crate::checks::plugin::protocol::parse(2, stdout).is_err());
        assert_eq!(parse("'a'=1").unwrap()[0].label, "a");
    }
}
