//! Whatever bytes a council sends, tidy reports and never panics: a deterministic mutation sweep
//! over the messy fixtures (CSV in several encodings, xlsx, ods), each read and tidied with a
//! mapping, plus a few hostile shapes.

use fivestar_tidy::{read, tidy, ColumnRule, ReadOptions, Severity, TidyOptions, ValueKind};
use std::path::Path;

fn options() -> TidyOptions {
    let rule = |name: &str, kind| ColumnRule {
        name: name.into(),
        aliases: vec![],
        kind,
        date_order: None,
        required: true,
        optional: false,
        source: None,
    };
    TidyOptions {
        columns: vec![
            rule("Body", ValueKind::Text),
            rule("Date", ValueKind::Date),
            rule("Transaction Number", ValueKind::Text),
            rule("Net Amount", ValueKind::Amount),
            rule("Supplier Name", ValueKind::Text),
        ],
    }
}

/// Reads and tidies; every outcome is fine as long as an error comes with a rule and message.
fn process(bytes: &[u8]) {
    let mut notes = Vec::new();
    match read(bytes, &ReadOptions::default(), &mut notes) {
        Ok(grid) => {
            let t = tidy(grid, &options(), &mut notes);
            assert_eq!(t.rows.len(), t.source_rows.len());
            assert!(t.rows.iter().all(|r| r.len() == t.header.len()));
            let mut out = Vec::new();
            t.write_csv(&mut out).unwrap();
        }
        Err(note) => {
            assert_eq!(note.severity, Severity::Error);
            assert!(!note.message.is_empty());
        }
    }
    for n in notes {
        assert!(!n.rule.is_empty() && !n.message.is_empty());
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        // The run-time CARGO_MANIFEST_DIR first: the compiled-in one is stale when a shared
        // target folder reuses a test built in another checkout.
        Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../tests/fixtures/pipelines")
        .join(name),
    )
    .unwrap()
}

/// A small deterministic generator (xorshift), so that the sweep is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for name in [
        "spend-windows-1252.csv",
        "spend-bom-cr.csv",
        "spend-utf16.tsv",
        "spend-us-dates.csv",
        "spend-ragged.csv",
        "spend.xlsx",
        "spend.ods",
    ] {
        let original = fixture(name);
        process(&original);
        for _ in 0..300 {
            let mut b = original.clone();
            let edits = 1 + rng.next() % 4;
            for _ in 0..edits {
                if b.is_empty() {
                    break;
                }
                let at = (rng.next() as usize) % b.len();
                match rng.next() % 4 {
                    0 => b[at] = rng.next() as u8,
                    1 => {
                        b.remove(at);
                    }
                    2 => b.insert(
                        at,
                        [b'"', b',', b'\r', b'\n', 0xA3, 0, 0xFF][(rng.next() % 7) as usize],
                    ),
                    _ => b.truncate(at),
                }
            }
            process(&b);
        }
    }
}

#[test]
fn hostile_shapes() {
    process(b"");
    process(b"\xEF\xBB\xBF");
    process(b"\xFF\xFE");
    process(&[0u8; 64]);
    process(b"\"");
    process(b",,,,,\n,,,,,\n");
    process("Body,Date\n".repeat(2000).as_bytes());
    process(&vec![b','; 100_000]);
    process(b"PK\x03\x04");
    process(&[0xD0, 0xCF, 0x11, 0xE0, 0, 0, 0, 0]);
    let mut wide = "Body,Date,Transaction Number,Net Amount,Supplier Name".to_string();
    wide.push_str(&",x".repeat(10_000));
    wide.push('\n');
    process(wide.as_bytes());
}
