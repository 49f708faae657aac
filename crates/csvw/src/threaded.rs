//! Reading and writing on two threads, for csv2rdf and for validation. The [`Processor`]
//! (decoding, splitting rows, keys) runs on the caller's thread; the [`Sink`] (csv2rdf and its
//! serializer, or nothing when validating) runs on a second one, and so do, while that thread keeps up, the parsing of the cells that no key or row
//! title reads and the rows' URL templates (never expanded when validating): when it falls behind (half the batches it may
//! hold are waiting), the reader does both itself until it catches up, so that the two
//! threads share the work rather than one waiting on the other. Rows cross in batches
//! through a bounded channel, so memory stays bounded by a few batches of rows, never by
//! the table.
//!
//! Which thread parses a cell changes nothing in what comes out: the writer's problems are
//! put into the report where one thread would have put them (each row's place is noted as it
//! is read), and a row with a problem in a cell the reader parses is parsed whole there.
//!
//! The sink sees exactly the calls, in the order, that it would see on one thread: the group,
//! each table, its rows (with the table's columns as they were when the row was read: a ragged
//! row can add columns), the table's end with its comments, the group's end.
//!
//! Written rows go back to the reading thread, to be filled again: no row's memory is
//! allocated on one thread and freed on the other, which costs allocators dearly. They are
//! filled again oldest first, once the writer's core has mostly let go of their memory.

use crate::diag::{Deferred, Error, Result};
use crate::metadata::TableGroup;
use crate::table::{parse_pending, AnnotatedTable, CellValue, Processor, Row, Sink, UrlTemplates};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Rows per batch: enough to make the hand-over cheap per row. In `csvw to-rdf` of the 1 M-row
/// bench file, 1,024 took 8–15 % less time than 256 (alternating runs; 512 and 2,048 were
/// slower than 1,024, 4,096 slower than 256). With it the reader decides whether the writer
/// is behind a quarter as often, and rows are filled again four times further apart; which
/// of the two gains was not measured apart, but 256 rows with sixteen batches of spare rows
/// gained about half as much. Memory stays that of a few thousand rows, never the table's.
const BATCH: usize = 1024;
/// Room for the written rows the reader keeps to fill again. They are taken oldest first: a
/// row the writer has just written is still in that core's cache, and filling it again moves
/// each of its cache lines back one by one. The oldest of four batches mostly is not (in
/// `csvw to-rdf` of the 1 M-row bench file, taking the newest of two batches of 256 rows took
/// 18 % more time than the oldest of four, eight were no better; of 1,024-row batches, two
/// took 15–40 % more time than four).
const SPARE: usize = 4 * BATCH;
/// Batches in flight: the reader may run this far ahead of the writer.
const DEPTH: usize = 8;

enum Event<'g> {
    StartGroup,
    StartTable(AnnotatedTable<'g>),
    /// The table's columns changed (a ragged row added some): the rows after this see these.
    Columns(AnnotatedTable<'g>),
    Rows(Vec<Row>),
    EndTable(AnnotatedTable<'g>),
    EndGroup,
}

/// Whether two threads are worth it here.
pub(crate) fn worthwhile() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// `p.process(group, sink)`, with the sink on its own thread.
/// `urls`: the sink reads the cells' URLs (csv2rdf does; validation does not, and then no
/// template is expanded).
pub(crate) fn process(
    p: &mut Processor<'_>,
    group: &TableGroup,
    sink: &mut (dyn Sink + Send),
    urls: bool,
) -> Result<()> {
    counted(p, group, sink, urls).0
}

/// What the writer's thread did beyond writing: rows whose URLs it set, and rows whose
/// cells it parsed (some or all).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    urls: usize,
    parsed: usize,
}

/// [`process`], and what the writer's thread took over.
fn counted(
    p: &mut Processor<'_>,
    group: &TableGroup,
    sink: &mut (dyn Sink + Send),
    urls: bool,
) -> (Result<()>, Counts) {
    let in_flight = AtomicUsize::new(0);
    let behind = Arc::new(AtomicBool::new(false));
    let deferred = Deferred::new(&p.report, p.options.validate);
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(DEPTH);
        // Written batches come back to be dropped where they were allocated: freeing memory
        // of another thread costs the allocator far more than freeing its own.
        let (done_tx, done_rx) = sync_channel(DEPTH + 2);
        let writer = std::thread::Builder::new()
            .name("csvw-sink".into())
            .spawn_scoped(scope, || {
                let mut found = deferred;
                let r = replay(rx, done_tx, &in_flight, group, sink, urls, &mut found);
                (r, found)
            });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => return (Err(e.into()), Counts::default()),
        };
        let mut forward = Forward {
            group,
            tx,
            done: done_rx,
            spare: VecDeque::with_capacity(SPARE),
            rows: Vec::with_capacity(BATCH),
            columns: 0,
            in_flight: &in_flight,
            urls: urls.then(UrlTemplates::default),
            behind: behind.clone(),
        };
        p.defer_urls = true;
        p.writer_behind = Some(behind.clone());
        let read = p
            .process(group, &mut forward)
            .and_then(|()| forward.flush());
        p.defer_urls = false;
        p.writer_behind = None;
        // Closing the channel ends the writer's loop.
        drop(forward);
        let (written, found) = match writer.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // The problems of the cells the writer parsed, each where one thread puts it.
        p.report.merge(found);
        // When the writer failed, the reader's error is only that nobody was listening.
        match written {
            Ok(counts) => (read, counts),
            Err(e) => (Err(e), Counts::default()),
        }
    })
}

/// Plays the events back into the sink, on the writer's thread, parsing the cells the reader
/// left (their problems to `found`); counts what it took over.
fn replay<'g>(
    rx: Receiver<Event<'g>>,
    done: SyncSender<Vec<Row>>,
    in_flight: &AtomicUsize,
    group: &'g TableGroup,
    sink: &mut (dyn Sink + Send),
    fill: bool,
    found: &mut Deferred,
) -> Result<Counts> {
    let mut current: Option<AnnotatedTable<'g>> = None;
    let mut urls = UrlTemplates::default();
    let mut counts = Counts::default();
    for event in rx {
        match event {
            Event::StartGroup => sink.start_group(group)?,
            Event::StartTable(at) => {
                urls.clear();
                sink.start_table(&at)?;
                current = Some(at);
            }
            Event::Columns(at) => current = Some(at),
            Event::Rows(mut rows) => {
                let at = current.as_ref().ok_or_else(out_of_order)?;
                if let Some(first) = rows.first() {
                    warm(first);
                }
                for i in 0..rows.len() {
                    if let Some(next) = rows.get(i + 1) {
                        warm(next);
                    }
                    let row = &mut rows[i];
                    if row.parse_pending {
                        parse_pending(at, row, found);
                        counts.parsed += 1;
                    }
                    if row.urls_filled || !fill {
                        sink.row(at, row)?;
                        continue;
                    }
                    urls.fill(at, row);
                    counts.urls += 1;
                    sink.row(at, row)?;
                }
                in_flight.fetch_sub(1, Ordering::Relaxed);
                // If the reader has stopped listening, the batch is dropped here.
                let _ = done.try_send(rows);
            }
            Event::EndTable(at) => {
                sink.end_table(&at)?;
                current = None;
            }
            Event::EndGroup => sink.end_group(group)?,
        }
    }
    Ok(counts)
}

/// Reads one byte of each of the row's values, so that the cache lines the reading thread
/// wrote are on their way to this core (all at once, not one by one as each is written
/// out) while the row before is converted.
fn warm(row: &Row) {
    let mut x = 0u8;
    for cell in &row.cells {
        if cell.pending {
            x ^= cell.raw.as_bytes().first().copied().unwrap_or(0);
            continue;
        }
        match &cell.value {
            CellValue::One(v) => x ^= v.lexical.as_bytes().first().copied().unwrap_or(0),
            CellValue::List(vs) => {
                for v in vs {
                    x ^= v.lexical.as_bytes().first().copied().unwrap_or(0);
                }
            }
            CellValue::Null => {}
        }
    }
    std::hint::black_box(x);
}

fn out_of_order() -> Error {
    Error::Io(std::io::Error::other("rows arrived before their table"))
}

/// The processor's sink: sends what it is given to the writer's thread.
struct Forward<'g> {
    group: &'g TableGroup,
    tx: SyncSender<Event<'g>>,
    /// Batches the writer is done with.
    done: Receiver<Vec<Row>>,
    /// Written rows, to be filled again: the oldest first (see [`SPARE`]).
    spare: VecDeque<Row>,
    rows: Vec<Row>,
    /// The column count the writer has.
    columns: usize,
    /// Batches sent and not yet written.
    in_flight: &'g AtomicUsize,
    /// For the rows whose URLs this thread expands: when the writer is behind (half the
    /// batches it may hold are waiting), the reader takes that work over until it catches
    /// up. Which thread expands a row's URLs changes nothing in them. `None` when the sink
    /// reads no URLs.
    urls: Option<UrlTemplates>,
    /// Shared with the processor, which leaves cells unparsed while it is not set.
    behind: Arc<AtomicBool>,
}

impl<'g> Forward<'g> {
    fn send(&self, event: Event<'g>) -> Result<()> {
        self.tx
            .send(event)
            .map_err(|_| Error::Io(std::io::Error::other("the output stopped")))
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut next = None;
        while let Ok(mut written) = self.done.try_recv() {
            // Kept to be filled again (the processor asks for spare rows), up to four
            // batches; taken oldest first.
            let room = SPARE.saturating_sub(self.spare.len());
            self.spare.extend(written.drain(..room.min(written.len())));
            written.clear();
            next = Some(written);
        }
        let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
        let rows = std::mem::replace(&mut self.rows, next);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.send(Event::Rows(rows))?;
        let behind = self.in_flight.load(Ordering::Relaxed) >= DEPTH / 2;
        self.behind.store(behind, Ordering::Relaxed);
        Ok(())
    }

    /// The table, as a value that lives as long as the group (the processor's tables are
    /// the group's own).
    fn own(&self, at: &AnnotatedTable<'_>) -> Result<AnnotatedTable<'g>> {
        let table = self
            .group
            .tables
            .iter()
            .find(|t| std::ptr::eq(*t, at.table))
            .ok_or_else(|| Error::Io(std::io::Error::other("a table outside its group")))?;
        Ok(at.with_table(table))
    }
}

impl Sink for Forward<'_> {
    fn start_group(&mut self, _group: &TableGroup) -> Result<()> {
        self.send(Event::StartGroup)
    }

    fn start_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        if let Some(urls) = &mut self.urls {
            urls.clear();
        }
        self.columns = at.columns.len();
        let at = self.own(at)?;
        self.send(Event::StartTable(at))
    }

    fn row(&mut self, at: &AnnotatedTable<'_>, row: &Row) -> Result<()> {
        self.take_row(at, row.clone()).map(drop)
    }

    fn spare_row(&mut self) -> Option<Row> {
        self.spare.pop_front()
    }

    fn take_row(&mut self, at: &AnnotatedTable<'_>, mut row: Row) -> Result<Option<Row>> {
        // A row whose cells are not all parsed has its URLs set by the writer, after it
        // parses them.
        if let Some(urls) = &mut self.urls {
            if self.behind.load(Ordering::Relaxed) && !row.parse_pending {
                urls.fill(at, &mut row);
            }
        }
        if at.columns.len() != self.columns {
            self.flush()?;
            self.columns = at.columns.len();
            let at = self.own(at)?;
            self.send(Event::Columns(at))?;
        }
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush()?;
        }
        // Kept: it comes back through `spare_row` once written.
        Ok(None)
    }

    fn end_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        self.flush()?;
        let at = self.own(at)?;
        self.send(Event::EndTable(at))
    }

    fn end_group(&mut self, _group: &TableGroup) -> Result<()> {
        self.flush()?;
        self.send(Event::EndGroup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{Fetcher, Resource};
    use crate::table::{CellValue, Options};

    struct Files(Vec<(&'static str, Vec<u8>)>);

    impl Fetcher for Files {
        fn fetch(&self, url: &url::Url) -> std::result::Result<Option<Resource>, String> {
            Ok(self
                .0
                .iter()
                .find(|(p, _)| *p == url.path())
                .map(|(_, b)| Resource::from_bytes(b.clone())))
        }
    }

    /// Writes down every call, with everything the sink can see of it.
    #[derive(Default)]
    struct Log {
        lines: Vec<String>,
        /// Sleeps at the first rows, so that the reader runs ahead (and takes the URLs over).
        slow_rows: usize,
        /// Fails at this row.
        fail_at: Option<u64>,
    }

    impl Sink for Log {
        fn start_group(&mut self, group: &TableGroup) -> Result<()> {
            self.lines.push(format!("group {}", group.tables.len()));
            Ok(())
        }
        fn start_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
            self.lines
                .push(format!("table {} {}", at.table.url, at.columns.len()));
            Ok(())
        }
        fn row(&mut self, at: &AnnotatedTable<'_>, row: &Row) -> Result<()> {
            if self.fail_at == Some(row.number) {
                return Err(Error::Io(std::io::Error::other("the disk is full")));
            }
            if self.slow_rows > 0 && row.number % BATCH as u64 == 1 {
                self.slow_rows -= 1;
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
            let cells: Vec<String> = row
                .cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = match &c.value {
                        CellValue::Null => "null".to_string(),
                        CellValue::One(v) => format!("{}:{:?}", v.lexical, v.kind),
                        CellValue::List(vs) => format!("{:?}", vs),
                    };
                    format!(
                        "{}={v} {:?} {:?} {:?} {}",
                        c.raw,
                        at.url(row, i, 0),
                        at.url(row, i, 1),
                        at.url(row, i, 2),
                        c.invalid_urls
                    )
                })
                .collect();
            self.lines.push(format!(
                "row {} {} {} {:?} {}",
                at.columns.len(),
                row.number,
                row.source_number,
                row.titles,
                cells.join(" | ")
            ));
            Ok(())
        }
        fn end_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
            self.lines.push(format!("end {:?}", at.comments));
            Ok(())
        }
        fn end_group(&mut self, _: &TableGroup) -> Result<()> {
            self.lines.push("end group".into());
            Ok(())
        }
    }

    /// Two tables: one of many rows with URL templates (a key that never repeats, a value that
    /// does), comments, a blank row, wrong values (in the key, elsewhere, both; a repeated
    /// key) and, late, ragged rows that add columns; a small second one.
    fn files() -> (url::Url, Files) {
        let mut csv = String::from("id,kind,amount,tags\n");
        for i in 0..6_000 {
            match i {
                100 => csv.push_str("# a comment\n"),
                200 => csv.push_str(",,,\n"),
                _ => {}
            }
            if i >= 4_000 && i % 1_000 == 0 {
                csv.push_str(&format!("{i},k,1,a b,extra,{i}\n"));
            } else if i % 997 == 5 {
                csv.push_str(&format!("{i},k,x{i},a\n"));
            } else if i % 1_499 == 7 {
                csv.push_str("bad,k,1,a\n");
            } else if i % 1_201 == 11 {
                csv.push_str(&format!("-{i}-,k,y,a\n"));
            } else {
                csv.push_str(&format!("{i},k{},\"1,{:03}.5\",a b c\n", i % 3, i % 1000));
            }
        }
        let metadata = r##"{
          "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
          "tables": [{
            "url": "a.csv",
            "dialect": {"commentPrefix": "#"},
            "tableSchema": {
              "aboutUrl": "r/{id}",
              "rowTitles": "kind",
              "primaryKey": "id",
              "columns": [
                {"name": "id", "titles": "id", "datatype": "integer"},
                {"name": "kind", "titles": "kind", "valueUrl": "k/{kind}"},
                {"name": "amount", "titles": "amount",
                 "datatype": {"base": "decimal", "format": {"groupChar": ","}}},
                {"name": "tags", "titles": "tags", "separator": " ",
                 "propertyUrl": "http://example.org/tag"}
              ]
            }
          }, {
            "url": "b.csv",
            "tableSchema": {"columns": [{"name": "x", "titles": "x"}]}
          }]
        }"##;
        let url = url::Url::parse("http://example.org/m.json").unwrap();
        (
            url,
            Files(vec![
                ("/m.json", metadata.as_bytes().to_vec()),
                ("/a.csv", csv.into_bytes()),
                ("/b.csv", b"x\n1\n2\n".to_vec()),
            ]),
        )
    }

    fn on_one_thread(log: &mut Log, options: &Options) -> (Result<()>, String) {
        one_thread(log, options, true)
    }

    /// `urls`: false as `validate` runs, no template expanded.
    fn one_thread(log: &mut Log, options: &Options, urls: bool) -> (Result<()>, String) {
        let (url, files) = files();
        let mut p = Processor::new(&files, options.clone());
        let group = p.locate(&url).unwrap();
        p.defer_urls = !urls;
        let r = p.process(&group, log);
        let report = &p.report;
        (r, format!("{:?} {}", report.diagnostics, report.dropped))
    }

    /// The result, the report, and what the writer's thread took over.
    fn on_two_threads(log: &mut Log, options: &Options) -> (Result<()>, String, Counts) {
        two_threads(log, options, true)
    }

    fn two_threads(log: &mut Log, options: &Options, urls: bool) -> (Result<()>, String, Counts) {
        let (url, files) = files();
        let mut p = Processor::new(&files, options.clone());
        let group = p.locate(&url).unwrap();
        let (r, by_writer) = counted(&mut p, &group, log, urls);
        let report = &p.report;
        (
            r,
            format!("{:?} {}", report.diagnostics, report.dropped),
            by_writer,
        )
    }

    /// Validating, without and with a limit on the problems reported.
    fn validating() -> [Options; 2] {
        let validating = Options {
            validate: true,
            ..Options::default()
        };
        let limited = Options {
            diagnostic_limit: 9,
            ..validating.clone()
        };
        [validating, limited]
    }

    #[test]
    fn the_sink_sees_what_it_sees_on_one_thread() {
        let [validating, limited] = validating();
        for options in [Options::default(), validating, limited] {
            let mut one = Log::default();
            let (r, one_report) = on_one_thread(&mut one, &options);
            r.unwrap();
            assert!(one.lines.len() > 6_000, "{}", one.lines.len());
            assert!(one.lines.iter().any(|l| l.starts_with("row 6 ")));
            // Keys are checked when validating; the limit keeps the first nine problems (the ninth, a repeated key).
            let rules: &[&str] = match (options.validate, options.diagnostic_limit) {
                (false, _) => &["ragged", "datatype"],
                (true, 0) => &["ragged", "datatype", "primaryKey"],
                (true, _) => &["datatype", "primaryKey"],
            };
            for rule in rules {
                assert!(one_report.contains(rule), "no {rule} in the report");
            }

            // A writer as fast as it can be, then one that falls behind at first: the reader
            // then parses every cell and sets URLs itself, and nothing the sink sees, nor the
            // report, changes.
            for slow_rows in [0, 6] {
                let mut two = Log {
                    slow_rows,
                    ..Log::default()
                };
                let (r, two_report, by_writer) = on_two_threads(&mut two, &options);
                r.unwrap();
                assert_eq!(two_report, one_report, "slow rows: {slow_rows}");
                let first = one.lines.iter().zip(&two.lines).position(|(a, b)| a != b);
                assert_eq!(first, None, "slow rows: {slow_rows}");
                assert_eq!(one.lines.len(), two.lines.len());
                // 6,000 rows and 3 in the second table.
                assert!(by_writer.urls > 0);
                assert!(by_writer.parsed > 0, "the writer parsed no cells");
                if slow_rows > 0 {
                    assert!(by_writer.urls < 6_003, "the reader set no URLs");
                    assert!(by_writer.parsed < 6_003, "the reader left every row");
                }
            }
        }
    }

    /// Validation leaves the templates unexpanded, on one thread and on two, and its report is
    /// the same either way.
    #[test]
    fn validation_on_two_threads_reports_as_on_one() {
        for options in validating() {
            let mut one = Log::default();
            let (r, one_report) = one_thread(&mut one, &options, false);
            r.unwrap();
            assert!(one_report.contains("primaryKey"), "{one_report}");
            assert!(
                one.lines.iter().all(|l| !l.contains("Some(")),
                "a URL was expanded"
            );
            for slow_rows in [0, 6] {
                let mut two = Log {
                    slow_rows,
                    ..Log::default()
                };
                let (r, two_report, by_writer) = two_threads(&mut two, &options, false);
                r.unwrap();
                assert_eq!(two_report, one_report, "slow rows: {slow_rows}");
                assert_eq!(one.lines, two.lines, "slow rows: {slow_rows}");
                assert_eq!(by_writer.urls, 0, "the writer set URLs");
                assert!(by_writer.parsed > 0, "the writer parsed no cells");
            }
        }
    }

    #[test]
    fn a_sink_error_is_the_error() {
        let mut log = Log {
            fail_at: Some(3_000),
            ..Log::default()
        };
        let (r, _, _) = on_two_threads(&mut log, &Options::default());
        let e = r.unwrap_err().to_string();
        assert!(e.contains("the disk is full"), "{e}");
        assert!(log.lines.iter().all(|l| !l.starts_with("row 4 3000 ")));
    }
}
