//! Messy bytes to a clean table.
//!
//! Councils publish CSV in whatever encoding their spreadsheet saved, Excel and ODS workbooks
//! with title rows and notes, blank rows, trailing delimiters, padded cells and UK money and
//! date formats. This crate turns such bytes into a clean table (UTF-8, one header row, one
//! record per row, canonical values) and reports every change it made as a [`Problem`], with the
//! source row and column, so that nothing is changed silently and nothing is lost unreported.
//!
//! Reading ([`read`]) makes a [`Grid`] of text cells with their source row numbers; tidying
//! ([`tidy`]) finds the header, drops blank rows and empty columns, maps columns and normalises
//! values by the [`ValueKind`] a mapping declares. A file too big to hold is tidied as a stream
//! ([`tidy_to_csv`]): the same tidy ([`tidy_rows`]) reads a CSV's rows in passes ([`CsvRows`])
//! and writes the clean rows as CSV as they are made.

// A file that cannot be read is one `Problem` (file, row, column, value, rule) per file, not a
// hot path: returning it unboxed keeps every reader simple.
#![allow(clippy::result_large_err)]

mod cells;
mod decode;
pub mod display;
mod grid;
mod read;
mod stream;
mod table;
pub mod values;
pub mod workbook;

pub use cells::{BuiltColumn, Cells, Row, MAX_ROWS};
pub use decode::{decode, Decoded};
pub use grid::{sniff_format, Format, Grid, ReadOptions};
pub use read::read;
pub use read::CsvRows;
pub use stream::{tidy_to_csv, tidy_to_table, LineMap, Tidied, TidiedTable};
pub use table::{
    normalize_header, tidy, tidy_rows, ColumnRule, Rows, Shape, Sink, Table, TidyOptions,
};
pub use values::{DateOrder, ValueKind};

use serde::Serialize;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A change made and reported (an encoding decoded, a blank row removed).
    Info,
    /// Published, but shown to the data officer.
    Warning,
    /// Blocks publication.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem, or (as `info`) one change made: the record every stage of fivestar reports
/// in, from tidy to publishing, with the source file, row, column and value it is about.
/// (The csvw crate keeps its own `Diagnostic` at the standard's boundary; the pipeline
/// converts it in one place.)
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Problem {
    pub severity: Severity,
    /// A short rule name, e.g. `encoding`, `blank-rows`, `ragged-row`, `amount`, `date`.
    pub rule: String,
    pub message: String,
    /// The source file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// The row as numbered in the source (the line of a CSV, the row of a sheet; 1-based).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub row: Option<u64>,
    /// The source column header.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
}

impl Problem {
    pub fn new(severity: Severity, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity,
            rule: rule.into(),
            message: message.into(),
            file: None,
            row: None,
            column: None,
            value: None,
        }
    }
    pub fn info(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, rule, message)
    }
    pub fn warning(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }
    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

/// How many problems of one rule and column a report lists one by one; the rest are counted
/// in one more line.
pub const LISTED_PER_RULE: usize = 50;

/// Writes row numbers compactly: `3, 5-9, 12` (at most `limit` ranges, then `…`).
pub fn row_list(rows: &[u64], limit: usize) -> String {
    let mut list = RowList::new(limit);
    for &r in rows {
        list.push(r);
    }
    list.to_string()
}

/// Row numbers in order, kept as ranges, at most `limit` of them (and whether there were
/// more): a list that stays small however many rows a file has.
#[derive(Debug, Clone)]
pub struct RowList {
    ranges: Vec<(u64, u64)>,
    limit: usize,
    more: bool,
    count: u64,
}

impl RowList {
    pub fn new(limit: usize) -> Self {
        RowList {
            ranges: Vec::new(),
            limit,
            more: false,
            count: 0,
        }
    }

    pub fn push(&mut self, row: u64) {
        self.count += 1;
        let full = self.ranges.len() >= self.limit;
        match self.ranges.last_mut() {
            Some((_, end)) if *end + 1 == row => *end = row,
            _ if full => self.more = true,
            _ => self.ranges.push((row, row)),
        }
    }

    /// How many rows were pushed.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl std::fmt::Display for RowList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        if self.more {
            f.write_str(if self.ranges.is_empty() {
                "…"
            } else {
                ", …"
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn row_lists_are_compact() {
        assert_eq!(super::row_list(&[1, 2, 3, 5, 7, 8], 10), "1-3, 5, 7-8");
        assert_eq!(super::row_list(&[1, 3, 5], 2), "1, 3, …");
        assert_eq!(super::row_list(&[], 2), "");
    }
}
