//! Errors and warnings, each with the place it was found.
//!
//! The CSVW Recommendations draw a line between *errors* (validators MUST report them and
//! converters MAY stop) and *warnings* (processing continues). Every diagnostic carries the
//! file, the row as numbered in the source file, the column, the offending value and the rule.

use serde::Serialize;
use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found while reading metadata or data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short machine-readable name of the rule, e.g. `datatype`, `required`, `primaryKey`.
    pub rule: String,
    pub message: String,
    /// The file (URL) the problem is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The row as numbered in the source file (1 is the first line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// The column name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Diagnostic {
    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }
    pub fn warning(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }
    fn new(severity: Severity, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            rule: rule.into(),
            message: message.into(),
            file: None,
            row: None,
            column: None,
            value: None,
        }
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
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]", self.rule)?;
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
            if let Some(row) = self.row {
                write!(f, ":{row}")?;
            }
        } else if let Some(row) = self.row {
            write!(f, " row {row}")?;
        }
        if let Some(col) = &self.column {
            write!(f, " column {col}")?;
        }
        if let Some(v) = &self.value {
            let shown: String = v.chars().take(80).collect();
            let more = if v.chars().count() > 80 { "…" } else { "" };
            write!(f, " value {shown:?}{more}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A fatal problem: processing cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The metadata or data is invalid in a way the specification says is an error.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A resource could not be retrieved.
    #[error("cannot fetch {url}: {message}")]
    Fetch { url: String, message: String },
    /// Writing output failed.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn invalid(d: Diagnostic) -> Self {
        Error::Invalid(Box::new(d))
    }
    /// The diagnostic behind this error, if it is a validity error.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Error::Invalid(d) => Some(d),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where diagnostics are collected while processing.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics were dropped after `limit` was reached.
    pub dropped: u64,
    /// At most this many diagnostics are kept (0 means no limit).
    pub limit: usize,
    /// Set when the first error is pushed (see [`crate::Options::error_seen`]).
    pub error_seen: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Report {
    pub fn push(&mut self, d: Diagnostic) {
        if let (true, Some(seen)) = (d.is_error(), &self.error_seen) {
            seen.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if self.limit != 0 && self.diagnostics.len() >= self.limit {
            self.dropped += 1;
        } else {
            self.diagnostics.push(d);
        }
    }
    /// How many diagnostics were pushed, kept or dropped.
    pub(crate) fn pushed(&self) -> u64 {
        self.diagnostics.len() as u64 + self.dropped
    }

    /// Takes in what another thread found ([`Deferred`]), each where one thread would have
    /// pushed it: a diagnostic at position `p` came after the first `p` pushed here. The limit
    /// then keeps the same first diagnostics it would have kept.
    pub(crate) fn merge(&mut self, other: Deferred) {
        if other.found.is_empty() && other.dropped == 0 {
            return;
        }
        let total = self.pushed() + other.found.len() as u64 + other.dropped;
        let mine = std::mem::take(&mut self.diagnostics);
        let mut merged = Vec::with_capacity(mine.len() + other.found.len());
        let mut theirs = other.found.into_iter().peekable();
        for (i, d) in mine.into_iter().enumerate() {
            while let Some((_, d)) = theirs.next_if(|(p, _)| *p <= i as u64) {
                merged.push(d);
            }
            merged.push(d);
        }
        merged.extend(theirs.map(|(_, d)| d));
        if self.limit != 0 {
            merged.truncate(self.limit);
        }
        self.dropped = total - merged.len() as u64;
        self.diagnostics = merged;
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
    pub fn has_warnings(&self) -> bool {
        self.diagnostics.iter().any(|d| !d.is_error())
    }
}

/// Diagnostics found on another thread than the [`Report`]'s, each with its place in the
/// report ([`Report::pushed`] when its row was read), for [`Report::merge`].
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    found: Vec<(u64, Diagnostic)>,
    dropped: u64,
    limit: usize,
    /// Data problems are errors only when validating (as `Processor::data_diag` has it).
    validate: bool,
    error_seen: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Deferred {
    pub(crate) fn new(report: &Report, validate: bool) -> Self {
        Deferred {
            limit: report.limit,
            validate,
            error_seen: report.error_seen.clone(),
            ..Deferred::default()
        }
    }

    /// A data problem found in a row whose place in the report is `at`; pushed in order.
    pub(crate) fn push(&mut self, at: u64, mut d: Diagnostic) {
        if !self.validate {
            d.severity = Severity::Warning;
        }
        if let (true, Some(seen)) = (d.is_error(), &self.error_seen) {
            seen.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if self.limit != 0 && self.found.len() >= self.limit {
            self.dropped += 1;
        } else {
            self.found.push((at, d));
        }
    }
}
