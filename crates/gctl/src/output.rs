//! How results reach the user: aligned tables for people (coloured only on a terminal, never
//! with NO_COLOR), JSON or YAML for scripts. Data goes to stdout, diagnostics to stderr.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;

use super::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people (default)
    Table,
    /// One JSON document, for scripts and jq
    Json,
    /// One YAML document
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set (default)
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Red,
    Yellow,
    Green,
    Dim,
    Bold,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Green => "32",
            Style::Dim => "2",
            Style::Bold => "1",
        }
    }
}

/// Applies styles, or does nothing when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    pub fn plain() -> Self {
        Self { enabled: false }
    }

    pub fn style(&self, text: &str, style: Option<Style>) -> String {
        match style {
            Some(style) if self.enabled => format!("\x1b[{}m{text}\x1b[0m", style.code()),
            _ => text.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub paint: Paint,
}

impl Output {
    pub fn new(format: Format, color: ColorChoice) -> Self {
        let enabled = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Self {
            format,
            paint: Paint { enabled },
        }
    }

    /// Prints `data` as JSON or YAML, or what `human` renders from it for a table.
    pub fn print<T: Serialize>(&self, data: &T, human: impl FnOnce(&T, Paint) -> String) -> Result<()> {
        let text = self.render(data, human);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    pub fn render<T: Serialize>(&self, data: &T, human: impl FnOnce(&T, Paint) -> String) -> String {
        match self.format {
            Format::Table => human(data, self.paint),
            Format::Json => serde_json::to_string_pretty(data).expect("output values serialize") + "\n",
            Format::Yaml => serde_yaml::to_string(data).expect("output values serialize"),
        }
    }
}

/// One table cell: its text and, optionally, how to colour it.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    style: Option<Style>,
}

impl Cell {
    pub fn styled(text: impl Into<String>, style: Option<Style>) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Self {
        Self::styled(text, None)
    }
}

/// Columns aligned on the widest cell; colour codes are added after padding so they never
/// disturb the alignment.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self, paint: Paint) -> String {
        let width = |text: &str| text.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(&cell.text));
            }
        }
        let line = |cells: Vec<(String, Option<Style>)>| {
            let last = cells.len() - 1;
            let mut out = String::new();
            for (i, (text, style)) in cells.into_iter().enumerate() {
                let padding = if i == last {
                    String::new()
                } else {
                    " ".repeat(widths[i] - width(&text) + 2)
                };
                out.push_str(&paint.style(&text, style));
                out.push_str(&padding);
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(
            self.headers
                .iter()
                .map(|h| (h.clone(), Some(Style::Bold)))
                .collect(),
        );
        for row in &self.rows {
            out.push_str(&line(row.iter().map(|c| (c.text.clone(), c.style)).collect()));
        }
        out
    }
}

/// `key:  value` lines with the values aligned, for one object's details.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| format!("{:<width$}  {value}\n", format!("{key}:")))
        .collect()
}

/// A heading between the sections of a longer report.
pub fn heading(title: &str, paint: Paint) -> String {
    format!("\n{}\n", paint.style(title, Some(Style::Bold)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let mut table = Table::new(&["ID", "SUMMARY"]);
        table.row(vec!["7".into(), "disk full".into()]);
        table.row(vec!["1234".into(), "db down".into()]);
        assert_eq!(
            table.render(Paint::plain()),
            "ID    SUMMARY\n7     disk full\n1234  db down\n"
        );
    }

    #[test]
    fn colour_does_not_shift_columns() {
        let mut table = Table::new(&["STATUS", "ID"]);
        table.row(vec![Cell::styled("unacked", Some(Style::Red)), "1".into()]);
        let coloured = table.render(Paint { enabled: true });
        let stripped = coloured
            .replace("\x1b[31m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, table.render(Paint::plain()));
    }

    #[test]
    fn json_and_yaml_render_the_data_not_the_table() {
        let data = serde_json::json!({"id": 1});
        let json = Output {
            format: Format::Json,
            paint: Paint::plain(),
        }
        .render(&data, |_, _| "table".into());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap(), data);
        let yaml = Output {
            format: Format::Yaml,
            paint: Paint::plain(),
        }
        .render(&data, |_, _| "table".into());
        assert_eq!(yaml, "id: 1\n");
    }
}
