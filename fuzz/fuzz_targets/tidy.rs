//! Arbitrary bytes through tidy: read (CSV in any encoding, xlsx, xls, ods), tidy with a
//! mapping, and template detection with the best template's rules (what `fivestar inspect`
//! does). Nothing may panic.
#![no_main]

use fivestar_tidy::{read, tidy, ColumnRule, ReadOptions, TidyOptions, ValueKind};
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
    if let Ok(grid) = read(data, &ReadOptions::default(), &mut notes) {
        if let Ok(Some(fit)) = fivestar_council::detect(&grid) {
            if let Ok(t) = fivestar_council::Template::get(&fit.template) {
                let _ = tidy(grid.clone(), &TidyOptions { columns: t.rules() }, &mut notes);
            }
        }
        let table = tidy(grid, &options, &mut notes);
        let _ = table.write_csv(std::io::sink());
    }
});
