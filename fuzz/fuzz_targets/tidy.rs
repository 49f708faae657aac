//! Arbitrary bytes through tidy: read (CSV in any encoding, xlsx, xls, ods), tidy with a
//! mapping, and template detection with the best template's rules (what `fivestar inspect`
//! does). Nothing may panic, and tidying as a stream (`tidy_to_csv`) and into a table from the
//! bytes (`tidy_to_table`, what a run does) give what reading and tidying in memory give: the
//! same clean CSV, the same notes, or the same error.
#![no_main]

use fivestar_tidy::{
    read, tidy, tidy_to_csv, tidy_to_table, ColumnRule, ReadOptions, TidyOptions, ValueKind,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rule = |name: &str, kind| ColumnRule {
        name: name.into(),
        aliases: vec!["Payee".into()],
        kind,
        date_order: None,
        required: false,
        optional: false,
        source: None,
    };
    let options = TidyOptions {
        columns: vec![
            rule("Date", ValueKind::Date),
            rule("Net Amount", ValueKind::Amount),
            rule("Count", ValueKind::Integer),
            rule("Supplier Name", ValueKind::Text),
        ],
    };
    let mut notes = Vec::new();
    let mut streamed_notes = Vec::new();
    let mut streamed = Vec::new();
    let result = tidy_to_csv(
        std::io::Cursor::new(data),
        &ReadOptions::default(),
        &options,
        &mut streamed,
        &mut streamed_notes,
    );
    let mut direct_notes = Vec::new();
    let direct = tidy_to_table(data, &ReadOptions::default(), &options, &mut direct_notes);
    match read(data, &ReadOptions::default(), &mut notes) {
        Ok(grid) => {
            if let Ok(Some(fit)) = fivestar_council::detect(&grid) {
                if let Ok(t) = fivestar_council::Template::get(&fit.template) {
                    let _ = tidy(
                        grid.clone(),
                        &TidyOptions { columns: t.rules() },
                        &mut Vec::new(),
                    );
                }
            }
            let table = tidy(grid, &options, &mut notes);
            let mut csv = Vec::new();
            table.write_csv(&mut csv).expect("a Vec takes every write");
            assert!(result.is_ok());
            assert_eq!(streamed, csv);
            assert_eq!(streamed_notes, notes);
            let direct = direct.expect("read as a grid, read from the bytes");
            let mut direct_csv = Vec::new();
            direct
                .table
                .write_csv(&mut direct_csv)
                .expect("a Vec takes every write");
            assert_eq!(direct_csv, csv);
            assert_eq!(direct.table.source_rows, table.source_rows);
            assert_eq!(direct_notes, notes);
        }
        Err(e) => {
            assert_eq!(result.err(), Some(e.clone()));
            assert_eq!(direct.err(), Some(e));
        }
    }
});
