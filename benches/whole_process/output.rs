//! What the benchmarks write, shared by `benches/whole_process` and
//! `benches/fleet` (the same file): an aligned table of sections and rows,
//! numbers written for people, and the result files with their time.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes a result file, making its directory.
pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The current UTC time, RFC 3339 to the second.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub fn bytes(n: u64) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / 1024.0 / 1024.0)
    }
}

/// `12345.6` → `12,346`.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

/// An aligned plain-text table of sections and four-column rows.
#[derive(Default)]
pub struct Table {
    lines: Vec<Line>,
}

pub enum Line {
    Section(String),
    Row([String; 4]),
}

impl Table {
    pub fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.to_owned()));
    }

    pub fn row(&mut self, measure: &str, value: &str, target: &str, result: &str) {
        self.lines.push(Line::Row([
            measure.to_owned(),
            value.to_owned(),
            target.to_owned(),
            result.to_owned(),
        ]));
    }

    pub fn render(&self) -> String {
        let header = ["measure", "value", "target", "result"].map(str::to_owned);
        let rows = self.lines.iter().filter_map(|l| match l {
            Line::Row(cells) => Some(cells),
            Line::Section(_) => None,
        });
        let mut widths = header.clone().map(|h| h.chars().count());
        for cells in rows {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let format_row = |cells: &[String; 4]| {
            let mut line = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                line.push_str(cell);
                if i < 3 {
                    line.push_str(&" ".repeat(w - cell.chars().count() + 2));
                }
            }
            line.trim_end().to_owned() + "\n"
        };
        let mut out = format_row(&header);
        for line in &self.lines {
            match line {
                Line::Section(title) => {
                    let _ = writeln!(out, "── {title}");
                }
                Line::Row(cells) => out.push_str(&format_row(cells)),
            }
        }
        out
    }
}
