//! The condition language of declarative HTTP checks, modelled on gatus':
//!
//! ```text
//! [STATUS] == 200                      [STATUS] == any(200, 204)
//! [RESPONSE_TIME] < 500                (milliseconds; "2s" works too)
//! [BODY].version >= 17.5               (numbers, else dotted versions)
//! [BODY].items[0].name == web          [BODY] == pat(*healthy*)
//! [HEADER].content-type == pat(application/json*)
//! len([BODY].items) > 0                has([BODY].error) == false
//! ```
//!
//! A condition is parsed once, when the config loads (a [`ConditionError`]
//! carries the byte offset of the offending part, so the config error points
//! at it), and evaluated against every answer. Evaluation never fails: a
//! condition that cannot hold (missing field, body not JSON) is a failed
//! condition whose explanation says why.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// One parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// As written (trimmed), for summaries: each failing condition is named
    /// the way its author wrote it.
    pub text: String,
    subject: Subject,
    op: Op,
    expected: Expected,
}

/// Where the checked value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Status,
    ResponseTime,
    /// The body as text (no steps) or a value inside its JSON.
    Body(Vec<Step>),
    /// A header, by lower-cased name.
    Header(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Value(Source),
    Len(Source),
    Has(Source),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// Longest first, so `<=` is not read as `<`.
    const ALL: [(&'static str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expected {
    /// `quoted` forces a text comparison (`"200"` is the text 200).
    Literal { text: String, quoted: bool },
    /// `pat(…)`: `*` any run of characters, `?` one character.
    Pattern(String),
    /// `any(a, b, …)`: equal to one of them.
    Any(Vec<String>),
}

/// Why a condition does not parse, and where (byte offset in the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub offset: usize,
    pub message: String,
}

impl ConditionError {
    fn at(offset: usize, message: impl Into<String>) -> ConditionError {
        ConditionError {
            offset,
            message: message.into(),
        }
    }
}

const PLACEHOLDERS: &[&str] = &["[STATUS]", "[RESPONSE_TIME]", "[BODY]", "[HEADER]"];
const SYNTAX: &str = "write it like `[STATUS] == 200`, `[BODY].version >= 17.5` or `[HEADER].content-type == pat(application/json*)`, with spaces around the operator";

impl Condition {
    /// Parses one condition.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let lead = text.len() - text.trim_start().len();
        let trimmed = text.trim();
        let Some((at, token, op)) = find_operator(trimmed) else {
            return Err(ConditionError::at(
                lead,
                format!("`{trimmed}` has no comparison (==, !=, <, <=, >, >=); {SYNTAX}"),
            ));
        };
        let left = &trimmed[..at];
        let right_at = at + token.len() + 2;
        let right = trimmed.get(right_at..).unwrap_or("");
        let subject = parse_subject(left.trim_end(), lead)?;
        let expected = parse_expected(right.trim(), lead + right_at + (right.len() - right.trim_start().len()))?;
        let condition = Condition {
            text: trimmed.to_owned(),
            subject,
            op,
            expected,
        };
        condition.validate(lead + right_at)?;
        Ok(condition)
    }

    /// Rejects combinations that can never be meaningful, at load time
    /// rather than as a failure at 3 a.m.
    fn validate(&self, right_at: usize) -> Result<(), ConditionError> {
        let op_text = Op::ALL.iter().find(|(_, o)| *o == self.op).map_or("", |(t, _)| t);
        if let Subject::Has(_) = self.subject {
            let ok = matches!(self.op, Op::Eq | Op::Ne)
                && matches!(&self.expected, Expected::Literal { text, .. } if text == "true" || text == "false");
            if !ok {
                return Err(ConditionError::at(
                    right_at,
                    "has(…) is compared with `== true` or `== false`",
                ));
            }
            return Ok(());
        }
        match &self.expected {
            Expected::Pattern(_) | Expected::Any(_) if self.op.is_ordering() => Err(ConditionError::at(
                right_at,
                format!("pat(…) and any(…) only work with == and !=, not {op_text}"),
            )),
            Expected::Literal { text, quoted } if self.numeric_subject() => {
                if *quoted || self.expected_number(text).is_none() {
                    Err(ConditionError::at(right_at, self.number_hint(text)))
                } else {
                    Ok(())
                }
            }
            Expected::Any(items) if self.numeric_subject() => {
                match items.iter().find(|i| self.expected_number(i).is_none()) {
                    Some(bad) => Err(ConditionError::at(right_at, self.number_hint(bad))),
                    None => Ok(()),
                }
            }
            Expected::Literal { text, .. }
                if self.op.is_ordering() && number(text).is_none() && version(text).is_none() =>
            {
                Err(ConditionError::at(
                    right_at,
                    format!(
                        "`{text}` is neither a number nor a version like 17.5.0, so {op_text} cannot compare with it; use == or pat(…) for text"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Status, response time and lengths are numbers whatever the answer.
    fn numeric_subject(&self) -> bool {
        matches!(
            self.subject,
            Subject::Len(_) | Subject::Value(Source::Status) | Subject::Value(Source::ResponseTime)
        )
    }

    /// The expected number; a response time may be written as a duration.
    fn expected_number(&self, text: &str) -> Option<f64> {
        if self.subject == Subject::Value(Source::ResponseTime) {
            if let Ok(d) = humantime::parse_duration(text) {
                return Some(d.as_secs_f64() * 1000.0);
            }
        }
        number(text)
    }

    fn number_hint(&self, text: &str) -> String {
        match self.subject {
            Subject::Value(Source::ResponseTime) => {
                format!("`{text}` is not a response time; write milliseconds (500) or a duration (\"2s\")")
            }
            Subject::Value(Source::Status) => {
                format!("`{text}` is not a status code; [STATUS] is a number like 200")
            }
            _ => format!("`{text}` is not a number; len(…) counts items or characters"),
        }
    }

    /// Whether the condition holds for `answer`; `Err` explains what was
    /// found instead ("got 503", "[BODY].version is missing").
    pub fn evaluate(&self, answer: &Answer<'_>) -> Result<(), String> {
        let actual = self.actual(answer)?;
        let holds = match &self.expected {
            Expected::Literal { text, quoted } => self.compare(&actual, text, *quoted)?,
            Expected::Pattern(p) => {
                let hit = glob(p, &actual.text());
                if self.op == Op::Eq { hit } else { !hit }
            }
            Expected::Any(items) => {
                let mut hit = false;
                for item in items {
                    hit |= self.equal(&actual, item, false);
                }
                if self.op == Op::Eq { hit } else { !hit }
            }
        };
        if holds {
            Ok(())
        } else {
            Err(format!("got {}", actual.shown()))
        }
    }

    fn compare(&self, actual: &Actual, expected: &str, quoted: bool) -> Result<bool, String> {
        if !self.op.is_ordering() {
            let eq = self.equal(actual, expected, quoted);
            return Ok(if self.op == Op::Eq { eq } else { !eq });
        }
        // Dotted text is a version ("17.10" is after "17.9"); JSON numbers
        // and everything else compare as numbers.
        if actual.is_text() {
            let text = actual.text();
            let pair = match (version(&text), version(expected)) {
                (Some(a), Some(b)) => Some((a, b)),
                (Some(a), None) => whole(expected).map(|b| (a, vec![b])),
                (None, Some(b)) => whole(&text).map(|a| (vec![a], b)),
                (None, None) => None,
            };
            if let Some((a, b)) = pair {
                return Ok(self.op.holds(cmp_versions(&a, &b)));
            }
        }
        if let (Some(a), Some(b)) = (actual.number(), self.expected_number(expected)) {
            return Ok(a.partial_cmp(&b).is_some_and(|o| self.op.holds(o)));
        }
        Err(format!(
            "got {}, which is not a number or version to compare with {expected}",
            actual.shown()
        ))
    }

    fn equal(&self, actual: &Actual, expected: &str, quoted: bool) -> bool {
        if !quoted {
            if let (Some(a), Some(b)) = (actual.number(), self.expected_number(expected)) {
                return a == b;
            }
        }
        actual.text() == expected
    }

    fn actual(&self, answer: &Answer<'_>) -> Result<Actual, String> {
        match &self.subject {
            Subject::Value(source) => answer.value(source),
            Subject::Has(source) => Ok(Actual::Text(answer.value(source).is_ok().to_string())),
            Subject::Len(source) => {
                let value = answer.value(source)?;
                let n = match &value {
                    Actual::Json(Value::Array(a)) => a.len(),
                    Actual::Json(Value::Object(o)) => o.len(),
                    Actual::Json(Value::String(s)) | Actual::Text(s) => s.chars().count(),
                    other => return Err(format!("got {}, which has no length", other.shown())),
                };
                Ok(Actual::Number(n as f64))
            }
        }
    }
}

/// The first operator surrounded by spaces (`[BODY].a == pat(x < y)` splits
/// at `==`), as the offset of the space before it.
fn find_operator(text: &str) -> Option<(usize, &'static str, Op)> {
    Op::ALL
        .iter()
        .filter_map(|(token, op)| text.find(&format!(" {token} ")).map(|at| (at, *token, *op)))
        .min_by_key(|(at, _, _)| *at)
}

fn parse_subject(left: &str, offset: usize) -> Result<Subject, ConditionError> {
    for (name, wrap) in [("len(", Subject::Len as fn(Source) -> Subject), ("has(", Subject::Has)] {
        if let Some(inner) = left.strip_prefix(name) {
            let Some(inner) = inner.strip_suffix(')') else {
                return Err(ConditionError::at(offset, format!("`{left}` lacks its closing `)`")));
            };
            let source = parse_source(inner, offset + name.len())?;
            if matches!(source, Source::Status | Source::ResponseTime) {
                return Err(ConditionError::at(
                    offset,
                    format!("{name}…) takes [BODY] or [HEADER], not {}", inner.trim()),
                ));
            }
            return Ok(wrap(source));
        }
    }
    parse_source(left, offset).map(Subject::Value)
}

fn parse_source(text: &str, offset: usize) -> Result<Source, ConditionError> {
    if text == "[STATUS]" {
        return Ok(Source::Status);
    }
    if text == "[RESPONSE_TIME]" {
        return Ok(Source::ResponseTime);
    }
    if let Some(path) = text.strip_prefix("[BODY]") {
        return parse_path(path, offset + "[BODY]".len()).map(Source::Body);
    }
    if let Some(rest) = text.strip_prefix("[HEADER]") {
        let name = rest.strip_prefix('.').unwrap_or("");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        {
            return Err(ConditionError::at(
                offset,
                format!("`{text}` names no header; write it like [HEADER].content-type"),
            ));
        }
        return Ok(Source::Header(name.to_ascii_lowercase()));
    }
    let word = text.split(['.', ' ']).next().unwrap_or(text);
    let hint = PLACEHOLDERS.iter().find(|p| p.eq_ignore_ascii_case(word)).map_or_else(
        || format!("start with one of {}, len(…) or has(…)", PLACEHOLDERS.join(", ")),
        |p| format!("placeholders are upper case: did you mean {p}?"),
    );
    Err(ConditionError::at(
        offset,
        format!("`{text}` is not something an answer has; {hint}"),
    ))
}

/// `.items[0].name`, `[1]`, `.a.b`.
fn parse_path(path: &str, offset: usize) -> Result<Vec<Step>, ConditionError> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let at = offset + path.len() - rest.len();
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(ConditionError::at(at, "a `.` must be followed by a field name"));
            }
            steps.push(Step::Key(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err(ConditionError::at(at, "`[` lacks its closing `]`"));
            };
            let index = after[..end].trim().parse::<usize>().map_err(|_| {
                ConditionError::at(
                    at,
                    format!(
                        "`[{}]` is not a list index; write [0] for the first item",
                        &after[..end]
                    ),
                )
            })?;
            steps.push(Step::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(ConditionError::at(
                at,
                format!("`{rest}` is not a path; write fields as .name and list items as [0]"),
            ));
        }
    }
    Ok(steps)
}

fn parse_expected(text: &str, offset: usize) -> Result<Expected, ConditionError> {
    if text.is_empty() {
        return Err(ConditionError::at(
            offset,
            format!("nothing to compare with after the operator; {SYNTAX}"),
        ));
    }
    for name in ["pat(", "any("] {
        if let Some(inner) = text.strip_prefix(name) {
            let Some(inner) = inner.strip_suffix(')') else {
                return Err(ConditionError::at(offset, format!("`{text}` lacks its closing `)`")));
            };
            return Ok(if name == "pat(" {
                Expected::Pattern(inner.to_owned())
            } else {
                Expected::Any(inner.split(',').map(|s| unquote(s.trim()).0.to_owned()).collect())
            });
        }
    }
    let (text, quoted) = unquote(text);
    Ok(Expected::Literal {
        text: text.to_owned(),
        quoted,
    })
}

fn unquote(text: &str) -> (&str, bool) {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if text.len() >= 2 => (inner, true),
        _ => (text, false),
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `17.5.0`, `16.11.0-ee` → `[17, 5, 0]`; needs at least one dot.
fn version(text: &str) -> Option<Vec<u64>> {
    let text = text.trim().strip_prefix('v').unwrap_or(text.trim());
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let core = &text[..end];
    if !core.contains('.') || core.ends_with('.') {
        return None;
    }
    core.split('.').map(|p| p.parse().ok()).collect()
}

/// A whole number, as a one-part version (`>= 18` against `17.5.0`).
fn whole(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

fn cmp_versions(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `*` matches any run of characters, `?` exactly one.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A value found in an answer.
#[derive(Debug, Clone)]
enum Actual {
    Number(f64),
    Text(String),
    Json(Value),
}

impl Actual {
    fn number(&self) -> Option<f64> {
        match self {
            Actual::Number(n) => Some(*n),
            Actual::Json(Value::Number(n)) => n.as_f64(),
            Actual::Json(Value::String(s)) | Actual::Text(s) => number(s),
            Actual::Json(_) => None,
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, Actual::Text(_) | Actual::Json(Value::String(_)))
    }

    /// The value as text: strings bare, other JSON compact.
    fn text(&self) -> String {
        match self {
            Actual::Number(n) => format_number(*n),
            Actual::Text(s) | Actual::Json(Value::String(s)) => s.clone(),
            Actual::Json(v) => v.to_string(),
        }
    }

    /// For messages: short, one line.
    fn shown(&self) -> String {
        let text = self.text().replace(['\n', '\r'], " ");
        let short: String = text.chars().take(80).collect();
        let ellipsis = if short.len() < text.len() { "…" } else { "" };
        if text.is_empty() {
            "nothing (empty)".to_owned()
        } else {
            format!("`{short}{ellipsis}`")
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// What conditions are evaluated against: one HTTP answer.
pub struct Answer<'a> {
    pub status: u16,
    pub response_time: Duration,
    pub headers: &'a HeaderMap,
    /// The body, or why it is not available (larger than the cap).
    pub body: Result<&'a [u8], String>,
    /// The body's JSON, parsed at most once and only when a condition
    /// looks inside it.
    json: OnceCell<Result<Value, String>>,
}

impl<'a> Answer<'a> {
    pub fn new(
        status: u16,
        response_time: Duration,
        headers: &'a HeaderMap,
        body: Result<&'a [u8], String>,
    ) -> Answer<'a> {
        Answer {
            status,
            response_time,
            headers,
            body,
            json: OnceCell::new(),
        }
    }

    fn value(&self, source: &Source) -> Result<Actual, String> {
        match source {
            Source::Status => Ok(Actual::Number(f64::from(self.status))),
            Source::ResponseTime => Ok(Actual::Number(self.response_time.as_secs_f64() * 1000.0)),
            Source::Header(name) => match self.headers.get(name.as_str()) {
                Some(v) => Ok(Actual::Text(String::from_utf8_lossy(v.as_bytes()).into_owned())),
                None => Err(format!("the answer has no `{name}` header")),
            },
            Source::Body(steps) if steps.is_empty() => {
                let body = self.body.as_ref().map_err(Clone::clone)?;
                Ok(Actual::Text(String::from_utf8_lossy(body).trim().to_owned()))
            }
            Source::Body(steps) => {
                let json = self.json.get_or_init(|| {
                    let body = self.body.as_ref().map_err(Clone::clone)?;
                    serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))
                });
                let mut value = json.as_ref().map_err(Clone::clone)?;
                let mut path = String::from("[BODY]");
                for step in steps {
                    let next = match step {
                        Step::Key(k) => {
                            path.push('.');
                            path.push_str(k);
                            value.get(k.as_str())
                        }
                        Step::Index(i) => {
                            path.push_str(&format!("[{i}]"));
                            value.get(*i)
                        }
                    };
                    value = next.ok_or_else(|| format!("{path} is missing"))?;
                }
                Ok(Actual::Json(value.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(condition: &str, status: u16, body: &str) -> Result<(), String> {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json; charset=utf-8".parse().unwrap());
        let answer = Answer::new(status, Duration::from_millis(120), &headers, Ok(body.as_bytes()));
        Condition::parse(condition).unwrap().evaluate(&answer)
    }

    const BODY: &str = r#"{"version":"17.5.0-ee","items":[{"name":"web","n":3}],"ok":true,"empty":[]}"#;

    #[test]
    fn conditions_that_hold() {
        for c in [
            "[STATUS] == 200",
            "[STATUS] < 300",
            "[STATUS] == any(200, 204)",
            "[RESPONSE_TIME] < 500",
            "[RESPONSE_TIME] <= 1s",
            "[BODY].version >= 17.5",
            "[BODY].version < 17.10.1",
            "[BODY].items[0].n >= 3",
            "[BODY].version == pat(17.5.*)",
            "[BODY].items[0].name == web",
            "[BODY].items[0].n > 2",
            "[BODY].ok == true",
            "len([BODY].items) == 1",
            "len([BODY].empty) == 0",
            "has([BODY].items) == true",
            "has([BODY].error) == false",
            "[HEADER].content-type == pat(application/json*)",
            "[HEADER].Content-Type != text/html",
            "[BODY] == pat(*\"ok\":true*)",
        ] {
            assert_eq!(eval(c, 200, BODY), Ok(()), "{c}");
        }
    }

    #[test]
    fn failing_conditions_say_what_they_got() {
        assert_eq!(eval("[STATUS] == 200", 503, BODY), Err("got `503`".into()));
        assert_eq!(eval("[BODY].version >= 18", 200, BODY), Err("got `17.5.0-ee`".into()));
        assert_eq!(
            eval("[BODY].missing.x == 1", 200, BODY),
            Err("[BODY].missing is missing".into())
        );
        assert!(
            eval("[BODY].a == 1", 200, "<html>")
                .unwrap_err()
                .starts_with("the body is not JSON")
        );
        assert_eq!(
            eval("[HEADER].x-gitlab == 1", 200, BODY),
            Err("the answer has no `x-gitlab` header".into())
        );
        assert!(
            eval("[BODY].items > 1", 200, BODY)
                .unwrap_err()
                .contains("not a number or version")
        );
    }

    #[test]
    fn bad_conditions_are_rejected_with_their_position() {
        let err = |c: &str| Condition::parse(c).unwrap_err();
        assert_eq!(err("[STATUS] = 200").offset, 0);
        assert!(err("[STATUS]==200").message.contains("spaces around the operator"));
        let e = err("[status] == 200");
        assert!(e.message.contains("did you mean [STATUS]?"), "{e:?}");
        let e = err("[STATUS] == OK");
        assert_eq!(e.offset, 12);
        assert!(e.message.contains("not a status code"), "{e:?}");
        let e = err("[BODY].items[x] == 1");
        assert_eq!(e.offset, 12, "{e:?}");
        assert!(
            err("[BODY].v > latest")
                .message
                .contains("neither a number nor a version")
        );
        assert!(err("[BODY] < pat(x)").message.contains("only work with == and !="));
        assert!(err("len([STATUS]) > 1").message.contains("takes [BODY] or [HEADER]"));
        assert!(err("has([BODY].x) == 1").message.contains("== true"));
        assert!(err("[RESPONSE_TIME] < soon").message.contains("milliseconds"));
    }

    #[test]
    fn globs_and_versions() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*b*b*", "abcbd"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert_eq!(version("16.11.0-ee"), Some(vec![16, 11, 0]));
        assert_eq!(version("17"), None);
        assert_eq!(cmp_versions(&[17, 5], &[17, 5, 0]), Ordering::Equal);
        assert_eq!(cmp_versions(&[17, 10], &[17, 9, 9]), Ordering::Greater);
    }
}
