//! What reading a file makes: the format it was read as, the options it was read with (the
//! workbook limits among them), and the grid of text cells with their source row numbers.
//! CSV reading (`read`) and workbook reading (`workbook`) both produce it; neither depends on
//! the other for it.

use serde::{Deserialize, Serialize};

/// The formats tidy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Xls,
    Ods,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

/// The format the bytes themselves say: a zip is xlsx or ods, an OLE file is xls, else CSV.
pub fn sniff_format(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        let head = &bytes[..bytes.len().min(200)];
        if head
            .windows(46)
            .any(|w| w == b"application/vnd.oasis.opendocument.spreadsheet")
        {
            Format::Ods
        } else {
            Format::Xlsx
        }
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Format::Xls
    } else {
        Format::Csv
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The declared format; sniffed from the bytes when `None`.
    pub format: Option<Format>,
    /// A sheet name (workbooks); the first non-empty sheet when `None`.
    pub sheet: Option<String>,
    /// A declared text encoding (CSV); detected when `None`.
    pub encoding: Option<String>,
    /// A declared delimiter (CSV); detected when `None`.
    pub delimiter: Option<u8>,
    /// Limits on workbooks, checked before they are read.
    pub limits: Limits,
}

/// Text cells as read, each row with its source row number.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub rows: Vec<(u64, Vec<String>)>,
    pub format: Option<Format>,
    /// The text encoding (CSV).
    pub encoding: Option<&'static str>,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
    pub delimiter: Option<u8>,
}

impl Grid {
    /// A grid of `rows`, numbered from 1 (a table built in code, a test's say).
    pub fn from_rows(rows: &[&[&str]]) -> Grid {
        Grid {
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i as u64 + 1, r.iter().map(|s| s.to_string()).collect()))
                .collect(),
            ..Grid::default()
        }
    }
}

/// Limits on a workbook, checked before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Cells in the rectangle a sheet spans (rows × columns), at most.
    pub max_cells: u64,
    /// The zip's declared uncompressed size (xlsx, ods), at most.
    pub max_uncompressed_bytes: u64,
    /// Entries in the zip, at most.
    pub max_entries: usize,
    /// Address space of the child process that reads a workbook.
    pub max_memory_bytes: u64,
    /// How long the child may take.
    pub max_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cells: 20_000_000,
            max_uncompressed_bytes: 2 << 30,
            max_entries: 10_000,
            max_memory_bytes: 6 << 30,
            max_seconds: 600,
        }
    }
}
