//! `cargo bench -p fivestar-tidy`: read + tidy throughput and peak memory.
//! Not a timed test: it prints what it measured.

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn errors(notes: &[fivestar_tidy::Problem]) -> usize {
    notes
        .iter()
        .filter(|n| n.severity == fivestar_tidy::Severity::Error)
        .count()
}

fn main() {
    let arg = |name: &str| {
        std::env::args()
            .skip(1)
            .find_map(|a| a.strip_prefix(name).and_then(|n| n.parse::<u64>().ok()))
    };
    let rows = arg("--rows=").unwrap_or(200_000);
    // First, while the process's peak RSS is still its own: a file on disk, tidied as a stream.
    if let Some(n) = arg("--stream-rows=") {
        if let Err(e) = stream(n) {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
    if let Err(e) = bench(rows) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// The messy spending CSV's lines: title rows, then `rows` payments (a blank row every 1,000).
fn messy_lines(rows: u64) -> impl Iterator<Item = String> {
    let head = [
        "Anytown Council\n".to_string(),
        "Payments over £500\n".into(),
        "\n".into(),
        "Body,Date,Transaction Number,Net Amount,Supplier Name,Expense Type,\n".into(),
    ];
    head.into_iter().chain((0..rows).map(|i| {
        let amount = (i * 7919) % 9_000_000;
        let mut line = format!(
            "E08000009,{:02}/{:02}/24,TRA-{i:09},\"£{},{:03}.{:02} \", Supplier {} Ltd ,Expense type {},\n",
            i % 28 + 1,
            i % 12 + 1,
            amount / 100_000 + 1,
            (amount / 100) % 1000,
            amount % 100,
            i % 997,
            i % 37
        );
        if i % 1000 == 999 {
            line.push_str(",,,,,,\n");
        }
        line
    }))
}

fn spend_options() -> fivestar_tidy::TidyOptions {
    use fivestar_tidy::{ColumnRule, DateOrder, TidyOptions, ValueKind};
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
    TidyOptions {
        columns: vec![
            rule("Body", ValueKind::Text),
            rule("Date", ValueKind::Date),
            rule("Transaction Number", ValueKind::Text),
            rule("Net Amount", ValueKind::Amount),
            rule("Supplier Name", ValueKind::Text),
            rule("Expense Type", ValueKind::Text),
        ],
    }
}

/// `tidy_to_csv` of a generated Windows-1252 file of `rows` payments on disk into a clean CSV
/// on disk: rows/s and the peak RSS of the whole process (generating the file streams too).
fn stream(rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("fivestar-tidy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let source = dir.join("messy.csv");
    let clean = dir.join("clean.csv");
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&source)?);
        for line in messy_lines(rows) {
            w.write_all(&encoding_rs::WINDOWS_1252.encode(&line).0)?;
        }
        w.flush()?;
        drop(w);
        let size = std::fs::metadata(&source)?.len();
        let rss_before = peak_rss();
        let start = std::time::Instant::now();
        let mut notes = Vec::new();
        let out = std::io::BufWriter::new(std::fs::File::create(&clean)?);
        let t = fivestar_tidy::tidy_to_csv(
            std::io::BufReader::new(std::fs::File::open(&source)?),
            &fivestar_tidy::ReadOptions::default(),
            &spend_options(),
            out,
            &mut notes,
        )
        .map_err(|n| n.message)?;
        let secs = start.elapsed().as_secs_f64();
        let errors = errors(&notes);
        println!(
            "tidy streamed: {} rows ({:.1} MB windows-1252 on disk) in {secs:.2} s: {:.0} rows/s, {errors} errors, {} notes; clean CSV {:.1} MB",
            t.shape.rows,
            size as f64 / 1e6,
            t.shape.rows as f64 / secs,
            notes.len(),
            std::fs::metadata(&clean)?.len() as f64 / 1e6
        );
        if let (Some(p), Some(b)) = (peak_rss(), rss_before) {
            println!(
                "tidy streamed: peak RSS {:.1} MB (before tidying: {:.1} MB)",
                p as f64 / 1e6,
                b as f64 / 1e6
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// read + tidy throughput and peak memory on a generated messy
/// Windows-1252 spending CSV (title rows, £ amounts, dd/mm/yy dates, padding, blank rows).
fn bench(rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let text: String = messy_lines(rows).collect();
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let bytes = bytes.into_owned();
    drop(text);
    let options = spend_options();
    let rss_before = peak_rss();
    let start = std::time::Instant::now();
    let mut notes = Vec::new();
    // As a run tidies: from the bytes in memory into a table in memory.
    let table = fivestar_tidy::tidy_to_table(
        &bytes,
        &fivestar_tidy::ReadOptions::default(),
        &options,
        &mut notes,
    )
    .map_err(|n| n.message)?
    .table;
    let tidied = start.elapsed();
    let mut sink = std::io::sink();
    table.write_csv(&mut sink)?;
    let secs = start.elapsed().as_secs_f64();
    let errors = errors(&notes);
    println!(
        "tidy: {} rows ({:.1} MB windows-1252) in {secs:.2} s (read and tidied {:.2} s, then written as CSV): {:.0} rows/s, {errors} errors, {} notes",
        table.rows.len(),
        bytes.len() as f64 / 1e6,
        tidied.as_secs_f64(),
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
