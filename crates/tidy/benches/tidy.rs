//! `cargo bench -p fivestar-tidy`: read + tidy throughput and peak memory.
//! Not a timed test: it prints what it measured.

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    let rows = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--rows=").and_then(|n| n.parse().ok()))
        .unwrap_or(200_000);
    if let Err(e) = bench(rows) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// read + tidy throughput and peak memory on a generated messy
/// Windows-1252 spending CSV (title rows, £ amounts, dd/mm/yy dates, padding, blank rows).
fn bench(rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    use fivestar_tidy::{ColumnRule, DateOrder, TidyOptions, ValueKind};
    let mut text = String::from("Anytown Council\nPayments over £500\n\nBody,Date,Transaction Number,Net Amount,Supplier Name,Expense Type,\n");
    for i in 0..rows {
        let amount = (i * 7919) % 9_000_000;
        text.push_str(&format!(
            "E08000009,{:02}/{:02}/24,TRA-{i:09},\"£{},{:03}.{:02} \", Supplier {} Ltd ,Expense type {},\n",
            i % 28 + 1,
            i % 12 + 1,
            amount / 100_000 + 1,
            (amount / 100) % 1000,
            amount % 100,
            i % 997,
            i % 37
        ));
        if i % 1000 == 999 {
            text.push_str(",,,,,,\n");
        }
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let bytes = bytes.into_owned();
    drop(text);
    let rule = |name: &str, kind| ColumnRule {
        name: name.into(),
        aliases: vec![],
        kind,
        date_order: if kind == ValueKind::Date {
            Some(DateOrder::Dmy)
        } else {
            None
        },
        required: true,
        optional: false,
        source: None,
    };
    let options = TidyOptions {
        columns: vec![
            rule("Body", ValueKind::Text),
            rule("Date", ValueKind::Date),
            rule("Transaction Number", ValueKind::Text),
            rule("Net Amount", ValueKind::Amount),
            rule("Supplier Name", ValueKind::Text),
            rule("Expense Type", ValueKind::Text),
        ],
    };
    let rss_before = peak_rss();
    let start = std::time::Instant::now();
    let mut notes = Vec::new();
    let grid = fivestar_tidy::read(&bytes, &fivestar_tidy::ReadOptions::default(), &mut notes)
        .map_err(|n| n.message)?;
    let read = start.elapsed();
    let table = fivestar_tidy::tidy(grid, &options, &mut notes);
    let mut sink = std::io::sink();
    table.write_csv(&mut sink)?;
    let secs = start.elapsed().as_secs_f64();
    let errors = notes
        .iter()
        .filter(|n| n.severity == fivestar_tidy::Severity::Error)
        .count();
    println!(
        "tidy: {} rows ({:.1} MB windows-1252) in {secs:.2} s (read {:.2} s): {:.0} rows/s, {errors} errors, {} notes",
        table.rows.len(),
        bytes.len() as f64 / 1e6,
        read.as_secs_f64(),
        table.rows.len() as f64 / secs,
        notes.len()
    );
    if let (Some(p), Some(b)) = (peak_rss(), rss_before) {
        println!(
            "peak RSS: {:.1} MB (input generated in memory: {:.1} MB before tidying)",
            p as f64 / 1e6,
            b as f64 / 1e6
        );
    }
    Ok(())
}
