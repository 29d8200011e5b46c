//! What a plugin's stdout means. Two protocols:
//!
//! - the **Nagios plugin API**: the exit code is the status, the first line
//!   the summary, text after `|` performance data (see [`super::perfdata`]),
//!   further lines details; a later line may start more perfdata after its
//!   own `|`, and every line after that is perfdata too;
//! - a **JSON object** with `"labwatch": 1` (on the first line, or the whole
//!   output): `status`, `summary`, and optionally `reason`, `remediation`
//!   and `measurements`. It wins over the exit code (which must still be 0-3).
//!
//! Anything else is a protocol error: a sentence naming the problem, which
//! the caller reports as `plugin-error`.

use serde_json::{Map, Value};

use super::perfdata;
use crate::engine::{Reason, Status};

/// Longest summary kept.
const MAX_SUMMARY: usize = 300;
/// Most detail lines (or remediation steps) kept, and their length.
const MAX_STEPS: usize = 20;
const MAX_STEP: usize = 500;
/// Longest plugin reason code.
const MAX_REASON: usize = 64;

/// A plugin outcome before labwatch adds its own notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub status: Status,
    /// The plugin's own code (JSON only); `None` takes the generic one.
    pub reason: Option<String>,
    pub summary: String,
    /// JSON `remediation`, or the Nagios detail lines.
    pub steps: Vec<String>,
    /// Long-output lines of a Nagios plugin, or `details` of a JSON outcome.
    pub details: Vec<String>,
    /// Most important first; the caller applies the cap.
    pub measurements: Vec<(String, f64)>,
}

/// Parses a plugin's stdout given its exit code (0-3).
pub fn parse(code: u8, stdout: &str) -> Result<Parsed, String> {
    let first = stdout.lines().next().unwrap_or("").trim();
    if first.starts_with('{') {
        if let Some(parsed) = json(first).or_else(|| json(stdout.trim())) {
            return parsed;
        }
        if first.contains("\"labwatch\"") {
            let e = serde_json::from_str::<Value>(first)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            return Err(format!(
                "its first line looks like a labwatch JSON outcome but is not valid JSON ({e})"
            ));
        }
    }
    nagios(code, stdout)
}

fn nagios(code: u8, stdout: &str) -> Result<Parsed, String> {
    let status = match code {
        0 => Status::Ok,
        1 => Status::Warning,
        2 => Status::Critical,
        _ => Status::Unknown,
    };
    if stdout.trim().is_empty() {
        return Err("it printed nothing on stdout; its first line must be a summary (Nagios plugin API) or a JSON outcome with \"labwatch\": 1".to_owned());
    }
    let mut lines = stdout.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let (summary, mut perf) = match first.split_once('|') {
        Some((s, p)) => (s.trim(), p.to_owned()),
        None => (first.trim(), String::new()),
    };
    if summary.is_empty() {
        return Err(
            "the first line of its output has no summary; it must say in words what the plugin found".to_owned(),
        );
    }
    let mut details = Vec::new();
    let mut in_perf = false;
    for line in lines {
        if in_perf {
            perf.push(' ');
            perf.push_str(line);
        } else if let Some((text, p)) = line.split_once('|') {
            details.push(text);
            perf.push(' ');
            perf.push_str(p);
            in_perf = true;
        } else {
            details.push(line);
        }
    }
    let items = perfdata::parse(&perf)?;
    Ok(Parsed {
        status,
        reason: None,
        summary: short(summary, MAX_SUMMARY),
        steps: Vec::new(),
        details: details
            .iter()
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
            .take(MAX_STEPS)
            .map(|d| short(d, MAX_STEP))
            .collect(),
        measurements: perfdata::measurements(&items),
    })
}

/// `None` when `text` is not a JSON object with a `labwatch` key.
fn json(text: &str) -> Option<Result<Parsed, String>> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let version = doc.get("labwatch")?;
    Some(structured(version, &doc))
}

fn structured(version: &Value, doc: &Map<String, Value>) -> Result<Parsed, String> {
    if version.as_u64() != Some(1) {
        return Err(format!(
            "\"labwatch\": {version} is not a protocol version this labwatch knows; write \"labwatch\": 1"
        ));
    }
    let status = match doc.get("status").and_then(Value::as_str) {
        Some("ok") => Status::Ok,
        Some("warning") => Status::Warning,
        Some("critical") => Status::Critical,
        Some("unknown") => Status::Unknown,
        other => {
            let got = other.map_or_else(
                || doc.get("status").map_or("nothing".to_owned(), Value::to_string),
                |s| format!("\"{s}\""),
            );
            return Err(format!(
                "its JSON \"status\" must be \"ok\", \"warning\", \"critical\" or \"unknown\", not {got}"
            ));
        }
    };
    let summary = match doc.get("summary").and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => short(s.lines().next().unwrap_or(s), MAX_SUMMARY),
        _ => return Err("its JSON has no \"summary\" (a non-empty string saying what it found)".to_owned()),
    };
    let reason = match doc.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(reason(r)?),
        Some(other) => return Err(format!("its JSON \"reason\" must be a string, not {other}")),
    };
    Ok(Parsed {
        status,
        reason,
        summary,
        steps: string_list(doc.get("remediation"), "remediation")?,
        details: string_list(doc.get("details"), "details")?,
        measurements: measurements(doc.get("measurements"))?,
    })
}

/// A plugin's own reason code: kebab case, short, not one of the engine's.
fn reason(code: &str) -> Result<String, String> {
    let kebab = !code.is_empty()
        && code
            .split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if !kebab || code.len() > MAX_REASON {
        return Err(format!(
            "its JSON \"reason\" `{}` is not a reason code: use at most {MAX_REASON} characters of lowercase words joined by `-`, like `disk-full`",
            short(code, 80)
        ));
    }
    if Reason::from_code(code).is_some_and(Reason::engine_only) {
        return Err(format!(
            "its JSON \"reason\" `{code}` is reserved for labwatch's engine; choose a code of your own"
        ));
    }
    Ok(code.to_owned())
}

/// A JSON list of strings under `key` (`remediation`, `details`).
fn string_list(value: Option<&Value>, key: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(steps)) => steps
            .iter()
            .take(MAX_STEPS)
            .map(|s| match s {
                Value::String(s) => Ok(short(s.trim(), MAX_STEP)),
                other => Err(format!("its JSON \"{key}\" must list strings, but holds {other}")),
            })
            .collect(),
        Some(other) => Err(format!("its JSON \"{key}\" must be a list of strings, not {other}")),
    }
}

fn measurements(value: Option<&Value>) -> Result<Vec<(String, f64)>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, v)| match v.as_f64() {
                Some(n) if !name.is_empty() => Ok((short(name, 128), n)),
                _ if name.is_empty() => Err("its JSON \"measurements\" has an empty name".to_owned()),
                _ => Err(format!("its JSON measurement `{name}` is {v}, not a number")),
            })
            .collect(),
        Some(other) => Err(format!(
            "its JSON \"measurements\" must be an object of names to numbers, not {other}"
        )),
    }
}

/// At most `max` characters, with `…` when cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagios_summary_details_and_multiline_perfdata() {
        let out = "DISK OK - 60% free | /=40%;80;90\n/var is fine\n/home is fine | /var=10%\n/home=20%;80;90\n";
        let p = parse(0, out).unwrap();
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.summary, "DISK OK - 60% free");
        assert_eq!(p.details, ["/var is fine", "/home is fine"]);
        assert!(p.steps.is_empty(), "long output is not remediation");
        let names: Vec<&str> = p.measurements.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "/_percent",
                "/var_percent",
                "/home_percent",
                "/_percent_warning",
                "/_percent_critical",
                "/home_percent_warning",
                "/home_percent_critical"
            ]
        );
    }

    #[test]
    fn exit_codes_give_the_status() {
        for (code, status) in [
            (0, Status::Ok),
            (1, Status::Warning),
            (2, Status::Critical),
            (3, Status::Unknown),
        ] {
            assert_eq!(parse(code, "x\n").unwrap().status, status);
        }
    }

    #[test]
    fn json_outcomes() {
        let p = parse(
            0,
            r#"{"labwatch":1,"status":"critical","reason":"runner-offline","summary":"2 runners offline","remediation":["Restart them"],"measurements":{"online":0}}"#,
        )
        .unwrap();
        assert_eq!(p.status, Status::Critical);
        assert_eq!(p.reason.as_deref(), Some("runner-offline"));
        assert_eq!(p.steps, ["Restart them"]);
        assert_eq!(p.measurements, [("online".to_owned(), 0.0)]);
        let pretty = "{\n  \"labwatch\": 1,\n  \"status\": \"ok\",\n  \"summary\": \"fine\"\n}\n";
        assert_eq!(parse(0, pretty).unwrap().summary, "fine");
        assert_eq!(
            parse(0, "{\"just\": \"json\"}").unwrap().summary,
            "{\"just\": \"json\"}"
        );
    }

    #[test]
    fn protocol_errors_name_the_problem() {
        let err = |code, out: &str| parse(code, out).unwrap_err();
        assert!(err(0, "").contains("printed nothing"));
        assert!(err(0, " | a=1\n").contains("no summary"));
        assert!(err(0, r#"{"labwatch":1,"status":"fine","summary":"x"}"#).contains("not \"fine\""));
        assert!(err(0, r#"{"labwatch":1,"status":"ok"}"#).contains("no \"summary\""));
        assert!(
            err(0, r#"{"labwatch":1,"status":"ok","summary":"x","reason":"Disk Full"}"#).contains("not a reason code")
        );
        assert!(err(0, r#"{"labwatch":1,"status":"ok","summary":"x","reason":"blocked"}"#).contains("reserved"));
        assert!(err(0, r#"{"labwatch":2,"status":"ok","summary":"x"}"#).contains("protocol version"));
        assert!(
            err(
                0,
                r#"{"labwatch":1,"status":"ok","summary":"x","measurements":{"a":"1"}}"#
            )
            .contains("not a number")
        );
        assert!(err(0, r#"{"labwatch":1,"status":"ok","summary":"#).contains("not valid JSON"));
        assert!(err(0, "OK | time=soon").contains("`soon` does not start with a number"));
    }
}
