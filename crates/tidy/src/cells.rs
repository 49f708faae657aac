//! The clean table's cells, kept column by column, each column's distinct values once.
//!
//! A council's file repeats most of its values row after row (the council, the month, the
//! service area, the supplier), and the columns a run computes from them (links, days, months)
//! more so. Kept as a `Vec<String>` a row, the 43 columns of the spending template cost at least
//! 1.6 KB a row (a 24-byte `String` a cell and an allocation for each value; 2.5 GB for the
//! whole run of a 1,000,000-row file, measured). Here a cell is a 4-byte id into its column's
//! values, and each distinct value is kept once: 0.43 KB a row, measured on 100,000 rows of
//! that template's clean table, its index and spare capacity included.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// The most rows a table holds. With it, no column can have more distinct values than a `u32`
/// counts: each row adds at most one, and so does each [`Cells::set`] of a cell (a cell is set
/// at most a few times, by the personal-data screen).
pub const MAX_ROWS: usize = 1 << 30;

/// One column: a value id per row; id 0 is the empty value.
#[derive(Clone)]
struct Column {
    ids: Vec<u32>,
    /// The distinct values, one after the other.
    text: String,
    /// Where each distinct value ends in `text` (`ends[0]` is the empty value's, 0).
    ends: Vec<usize>,
    /// The distinct values, by their hash: each entry is the value's 32-bit hash (high half)
    /// and its id (low half), so that the index grows and skips other values without reading
    /// `text`.
    index: HashTable<u64>,
    hasher: foldhash::fast::RandomState,
}

impl Default for Column {
    fn default() -> Self {
        Column {
            ids: Vec::new(),
            text: String::new(),
            ends: vec![0],
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

fn value<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

/// The table's hash of a 32-bit hash `h`: `h` in both halves (hashbrown places an entry by the
/// low bits and tells entries apart by the top seven).
fn spread(h: u64) -> u64 {
    (h << 32) | h
}

impl Column {
    fn get(&self, i: usize) -> &str {
        value(&self.text, &self.ends, self.ids[i])
    }

    /// The id of `v` by its hash `h` (see `spread`), when the column has it.
    fn lookup(&self, v: &str, h: u64) -> Option<u32> {
        let (text, ends) = (&self.text, &self.ends);
        self.index
            .find(spread(h), |&e| {
                e >> 32 == h && value(text, ends, e as u32) == v
            })
            .map(|&e| e as u32)
    }

    /// The id of `v`, when the column has it.
    fn find(&self, v: &str) -> Option<u32> {
        if v.is_empty() {
            return Some(0);
        }
        self.lookup(v, self.hasher.hash_one(v) >> 32)
    }

    /// The id of `v`, added when it is new.
    fn intern(&mut self, v: &str) -> u32 {
        if v.is_empty() {
            return 0;
        }
        let h = self.hasher.hash_one(v) >> 32;
        if let Some(id) = self.lookup(v, h) {
            return id;
        }
        let Column {
            text, ends, index, ..
        } = self;
        // Below `u32::MAX`: see `MAX_ROWS`.
        let id = u32::try_from(ends.len()).unwrap_or(u32::MAX);
        text.push_str(v);
        ends.push(text.len());
        index.insert_unique(spread(h), (h << 32) | u64::from(id), |&e| spread(e >> 32));
        id
    }
}

/// A column built apart from its table ([`Cells::build_column`]), to be added to it.
pub struct BuiltColumn(Column);

/// The cells of a table: `rows` rows of `columns` cells.
#[derive(Clone, Default)]
pub struct Cells {
    columns: Vec<Column>,
    rows: usize,
    /// The rows the table is expected to hold ([`Cells::expecting`]; 0 when not known).
    expect: usize,
}

/// Rows after which [`Cells::push_row`] makes room, in the columns whose values are mostly
/// distinct, for the rest of the rows expected.
const SAMPLE_ROWS: usize = 4096;

impl std::fmt::Debug for Cells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|r| r.to_vec()))
            .finish()
    }
}

impl Cells {
    /// An empty table of `width` columns.
    pub fn new(width: usize) -> Self {
        Cells {
            columns: vec![Column::default(); width],
            rows: 0,
            expect: 0,
        }
    }

    /// An empty table of `width` columns that is expected to hold about `rows` rows (a hint:
    /// it may hold more or fewer). Each column's ids are made room for at once, and once
    /// [`SAMPLE_ROWS`] rows are in, so are the values of the columns whose values are mostly
    /// distinct. Grown a doubling at a time instead, a column's vectors were copied into new
    /// memory at each doubling (the copies together as large as the column), the index rehashed
    /// each time, and the kernel cleared every new page: where fresh memory is slow to come by,
    /// most of tidy's time (55 % of its samples, the kernel clearing pages for these vectors, in
    /// a profile of a 1 M-row run, 2026-12-08). Room that is never used is only reserved
    /// address space.
    pub fn expecting(width: usize, rows: usize) -> Self {
        let mut cells = Cells::new(width);
        cells.expect = rows.min(MAX_ROWS);
        for col in &mut cells.columns {
            // A hint: where the room cannot be had, the column grows as it would have.
            let _ = col.ids.try_reserve_exact(cells.expect);
        }
        cells
    }

    /// `width` columns of `rows` (see [`Cells::push_row`]).
    pub fn from_rows<R: AsRef<[S]>, S: AsRef<str>>(
        width: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Self {
        let mut cells = Cells::new(width);
        for row in rows {
            // Rows a caller holds in memory already: never past `MAX_ROWS`.
            let _ = cells.push_row(row.as_ref());
        }
        cells
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Adds a row: missing cells are empty, cells beyond the width are left out. Refused past
    /// [`MAX_ROWS`] rows.
    pub fn push_row<S: AsRef<str>>(&mut self, row: &[S]) -> std::io::Result<()> {
        if self.rows >= MAX_ROWS {
            return Err(std::io::Error::other(format!(
                "the table has more than {MAX_ROWS} rows, more than a run can hold"
            )));
        }
        for (k, col) in self.columns.iter_mut().enumerate() {
            let id = col.intern(row.get(k).map_or("", AsRef::as_ref));
            col.ids.push(id);
        }
        self.rows += 1;
        if self.rows == SAMPLE_ROWS && self.expect > SAMPLE_ROWS {
            self.make_room();
        }
        Ok(())
    }

    /// Room for the rows still expected in each column whose values have been mostly distinct
    /// so far (more than half of them new): its text in proportion to the text so far, an
    /// end and an index entry each.
    fn make_room(&mut self) {
        let (rows, more) = (self.rows, self.expect - self.rows);
        for col in &mut self.columns {
            let distinct = col.ends.len() - 1;
            if distinct * 2 <= rows {
                continue;
            }
            let Column {
                text, ends, index, ..
            } = col;
            // Hints: where the room cannot be had (the first rows' long values taken for all
            // of them, say), the column grows as it would have.
            let _ =
                text.try_reserve_exact((text.len() / rows).saturating_add(1).saturating_mul(more));
            let _ = ends.try_reserve_exact(more);
            let _ = index.try_reserve(more, |&e| spread(e >> 32));
        }
    }

    /// Adds a column, its values in row order (missing ones are empty, extra ones left out).
    pub fn push_column<S: AsRef<str>>(&mut self, values: impl IntoIterator<Item = S>) {
        let col = Cells::build_column(self.rows, values);
        self.push_built(col);
    }

    /// A column of `rows` rows, its values in row order, built apart from any table (on
    /// another thread, say, while the table is read) for [`Cells::push_built`].
    pub fn build_column<S: AsRef<str>>(
        rows: usize,
        values: impl IntoIterator<Item = S>,
    ) -> BuiltColumn {
        let mut col = Column::default();
        col.ids.reserve_exact(rows);
        for v in values.into_iter().take(rows) {
            let id = col.intern(v.as_ref());
            col.ids.push(id);
        }
        BuiltColumn(col)
    }

    /// Adds a column [`Cells::build_column`] built: missing rows are empty, extra ones left
    /// out.
    pub fn push_built(&mut self, col: BuiltColumn) {
        let BuiltColumn(mut col) = col;
        col.ids.resize(self.rows, 0);
        self.columns.push(col);
    }

    /// Adds a column given as its values once each and a code a row: row `i`'s value is
    /// `values[codes[i]]` (a code past the values, and a missing row, are empty). For a column
    /// worked out from another's value ids, whose values repeat: each value is looked up once,
    /// not once a row, and no row's value is made as a `String` of its own.
    pub fn push_coded<S: AsRef<str>>(&mut self, values: &[S], mut codes: Vec<u32>) {
        let mut col = Column::default();
        let ids: Vec<u32> = values.iter().map(|v| col.intern(v.as_ref())).collect();
        codes.truncate(self.rows);
        for c in &mut codes {
            *c = ids.get(*c as usize).copied().unwrap_or(0);
        }
        codes.resize(self.rows, 0);
        col.ids = codes;
        self.columns.push(col);
    }

    /// The cell of row `i`, column `k`.
    ///
    /// # Panics
    /// When there is no such cell, as indexing a `Vec` does.
    pub fn get(&self, i: usize, k: usize) -> &str {
        self.columns[k].get(i)
    }

    /// Sets the cell of row `i`, column `k` (panics as [`Cells::get`] does).
    pub fn set(&mut self, i: usize, k: usize, v: &str) {
        let col = &mut self.columns[k];
        assert!(i < col.ids.len(), "row {i} of {}", col.ids.len());
        col.ids[i] = col.intern(v);
    }

    /// Row `i` (panics past the last, as indexing a `Vec` does).
    pub fn row(&self, i: usize) -> Row<'_> {
        assert!(i < self.rows, "row {i} of {}", self.rows);
        Row { cells: self, i }
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Row<'_>> + DoubleEndedIterator {
        (0..self.rows).map(move |i| Row { cells: self, i })
    }

    /// Column `k`'s value ids, one a row: equal values have equal ids, so that what is worked
    /// out from a value can be worked out once (panics past the last column).
    pub fn ids(&self, k: usize) -> &[u32] {
        &self.columns[k].ids
    }

    /// How many value ids column `k` has given (the empty value's, 0, included): each id in
    /// [`Cells::ids`] is below it.
    pub fn distinct(&self, k: usize) -> usize {
        self.columns[k].ends.len()
    }

    /// The id of value `v` in column `k`, when the column has it (panics past the last
    /// column).
    pub fn id_of(&self, k: usize, v: &str) -> Option<u32> {
        self.columns[k].find(v)
    }

    /// The value of id `id` in column `k` (panics for an id that column has not given).
    pub fn value_of(&self, k: usize, id: u32) -> &str {
        let col = &self.columns[k];
        value(&col.text, &col.ends, id)
    }

    /// Column `k`'s values in rows `rows`, in order (panics past the last column or row).
    pub fn column_rows(
        &self,
        k: usize,
        rows: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = &str> {
        let col = &self.columns[k];
        col.ids[rows]
            .iter()
            .map(|&id| value(&col.text, &col.ends, id))
    }

    /// Column `k`'s values, in row order (panics past the last column).
    pub fn column(&self, k: usize) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        let col = &self.columns[k];
        col.ids.iter().map(|&id| value(&col.text, &col.ends, id))
    }
}

/// One row of [`Cells`]: `row[k]` is its cell in column `k`.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    cells: &'a Cells,
    i: usize,
}

impl<'a> Row<'a> {
    /// Its cell in column `k` (panics past the last column, as indexing a slice does).
    pub fn cell(&self, k: usize) -> &'a str {
        self.cells.get(self.i, k)
    }

    /// Its cell in column `k`, if there is that column (as a slice's `get`).
    pub fn get(&self, k: usize) -> Option<&'a str> {
        (k < self.cells.width()).then(|| self.cells.get(self.i, k))
    }

    /// Its index among the rows.
    pub fn index(&self) -> usize {
        self.i
    }

    pub fn len(&self) -> usize {
        self.cells.width()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.width() == 0
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let (cells, i) = (self.cells, self.i);
        cells.columns.iter().map(move |c| c.get(i))
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for Row<'_> {
    type Output = str;
    fn index(&self, k: usize) -> &str {
        self.cell(k)
    }
}

/// Equal to rows of the same values (for tests, and for callers holding rows).
impl<S: AsRef<str>> PartialEq<Vec<Vec<S>>> for Cells {
    fn eq(&self, other: &Vec<Vec<S>>) -> bool {
        self.rows == other.len()
            && self
                .iter()
                .zip(other)
                .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y.as_ref()))
    }
}

impl PartialEq for Cells {
    fn eq(&self, other: &Cells) -> bool {
        self.rows == other.rows
            && self.width() == other.width()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.iter().eq(b.iter()))
    }
}

impl serde::Serialize for Cells {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.rows))?;
        for row in self.iter() {
            seq.serialize_element(&row.iter().collect::<Vec<_>>())?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_written_and_repeats_are_kept_once() {
        let mut c = Cells::new(3);
        for i in 0..1000 {
            let row = [format!("council {}", i % 3), format!("T{i}"), String::new()];
            c.push_row(&row).unwrap();
        }
        assert_eq!(c.len(), 1000);
        assert_eq!(c.get(7, 0), "council 1");
        assert_eq!(c.get(7, 1), "T7");
        assert_eq!(c.get(7, 2), "");
        assert_eq!(c.row(999).to_vec(), ["council 0", "T999", ""]);
        // Three distinct values, each once; a thousand of the other.
        assert_eq!(c.columns[0].ends.len(), 4);
        assert_eq!(c.columns[0].text.len(), 3 * "council 0".len());
        assert_eq!(c.columns[1].ends.len(), 1001);
        assert_eq!(c.columns[2].ends.len(), 1);
        assert_eq!(c.column(1).nth(500), Some("T500"));
        // Equal values, equal ids.
        let ids = c.ids(0);
        assert_eq!(ids[1], ids[4]);
        assert_ne!(ids[1], ids[2]);
        assert_eq!(c.value_of(0, ids[4]), "council 1");
        assert_eq!(c.distinct(0), 4);
        assert_eq!(c.id_of(0, "council 1"), Some(ids[4]));
        assert_eq!(c.id_of(0, "council 3"), None);
        assert_eq!(c.id_of(2, ""), Some(0));
        assert!(c.ids(2).iter().all(|&id| id == 0));
    }

    /// A coded column reads as the same column pushed value by value: values given twice, or
    /// empty, are one id; a code past the values is empty; short codes are padded, long ones cut.
    #[test]
    fn a_coded_column_is_the_column_its_codes_spell() {
        let mut c = Cells::from_rows(1, (0..6).map(|i| [format!("r{i}")]));
        let values = ["", "x", "y", "x", ""];
        c.push_coded(&values, vec![1, 2, 3, 4, 9]);
        c.push_coded(&values, vec![2, 2, 1, 0, 3, 1, 2, 2]);
        let mut plain = Cells::from_rows(1, (0..6).map(|i| [format!("r{i}")]));
        plain.push_column(["x", "y", "x", "", ""]);
        plain.push_column(["y", "y", "x", "", "x", "x"]);
        let rows = |c: &Cells| c.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
        assert_eq!(rows(&c), rows(&plain));
        assert_eq!(c.ids(1), plain.ids(1));
        assert_eq!(c.distinct(1), 3);
        assert_eq!(c.ids(1)[0], c.ids(1)[2]);
        assert_eq!(c.distinct(2), 3);
    }

    #[test]
    fn a_set_cell_changes_that_cell_only() {
        let mut c = Cells::from_rows(2, [["a", "b"], ["a", "c"], ["a", "b"]]);
        c.set(1, 0, "[redacted]");
        c.set(2, 1, "");
        assert_eq!(
            c.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            [["a", "b"], ["[redacted]", "c"], ["a", ""]]
        );
        // Setting it back finds the value kept already.
        c.set(1, 0, "a");
        assert_eq!(c.columns[0].ends.len(), 3);
        assert_eq!(c.get(1, 0), "a");
    }

    #[test]
    fn a_pushed_column_is_as_long_as_the_table() {
        let mut c = Cells::from_rows(1, [["1"], ["2"], ["3"]]);
        c.push_column(["x", "y"]);
        c.push_column(["p", "q", "r", "s"]);
        assert_eq!(c.width(), 3);
        assert_eq!(
            c.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            [["1", "x", "p"], ["2", "y", "q"], ["3", "", "r"]]
        );
        assert_eq!(&c.row(1)[2], "q");
    }

    /// A table told how many rows to expect holds what a table grown row by row holds,
    /// whether the hint is right, short or far too long; told right, it has room for every
    /// row's id at once, and after the first rows for every value of its mostly distinct
    /// columns (not of its repeating ones).
    #[test]
    fn a_table_told_its_rows_is_the_table_grown() {
        let rows = 3 * SAMPLE_ROWS;
        let row = |i: usize| {
            [
                format!("council {}", i % 3),
                format!("T{i:08}"),
                String::new(),
            ]
        };
        let mut grown = Cells::new(3);
        for i in 0..rows {
            grown.push_row(&row(i)).unwrap();
        }
        for hint in [rows, rows / 2, 0, 100 * rows] {
            let mut told = Cells::expecting(3, hint);
            if hint == rows {
                assert!(told.columns.iter().all(|c| c.ids.capacity() >= rows));
            }
            for i in 0..rows {
                told.push_row(&row(i)).unwrap();
                if hint == rows && i + 1 == SAMPLE_ROWS {
                    let [council, key, _] = &told.columns[..] else {
                        unreachable!()
                    };
                    assert!(key.ends.capacity() > rows, "{}", key.ends.capacity());
                    assert!(key.index.capacity() >= rows);
                    assert!(key.text.capacity() >= rows * 9);
                    assert!(council.ends.capacity() < 100);
                }
            }
            assert!(told == grown, "hint {hint}");
            assert_eq!(told.get(rows - 1, 1), format!("T{:08}", rows - 1));
        }
    }

    #[test]
    fn a_column_built_apart_is_the_column_pushed() {
        let mut pushed = Cells::from_rows(1, [["1"], ["2"], ["3"]]);
        let mut built = pushed.clone();
        pushed.push_column(["x", "", "x"]);
        pushed.push_column(["p"]);
        let apart = std::thread::spawn(|| {
            (
                Cells::build_column(3, ["x", "", "x"]),
                Cells::build_column(3, ["p"]),
            )
        })
        .join()
        .unwrap();
        built.push_built(apart.0);
        built.push_built(apart.1);
        assert_eq!(built, pushed);
        assert_eq!(built.distinct(1), 2, "the empty value and x, once");
        assert_eq!(built.id_of(1, "x"), Some(1));
    }

    #[test]
    fn short_rows_are_padded_and_long_ones_cut_to_the_width() {
        let mut c = Cells::new(2);
        c.push_row(&["only"]).unwrap();
        c.push_row(&["a", "b", "c"]).unwrap();
        assert_eq!(c.row(0).to_vec(), ["only", ""]);
        assert_eq!(c.row(1).to_vec(), ["a", "b"]);
    }

    #[test]
    fn many_distinct_values_survive_the_index_growing() {
        let mut c = Cells::new(1);
        for i in 0..100_000u32 {
            c.push_row(&[format!("{:x}", i.wrapping_mul(2_654_435_761))])
                .unwrap();
        }
        for i in (0..100_000u32).step_by(997) {
            assert_eq!(
                c.get(i as usize, 0),
                format!("{:x}", i.wrapping_mul(2_654_435_761))
            );
        }
        // After the index grew, every value is found again, not kept twice.
        for i in 0..100_000u32 {
            c.push_row(&[format!("{:x}", i.wrapping_mul(2_654_435_761))])
                .unwrap();
        }
        assert_eq!(c.columns[0].ends.len(), 100_001);
        assert_eq!(c.get(150_000, 0), c.get(50_000, 0));
        assert_eq!(
            serde_json::to_string(&Cells::from_rows(2, [["a", ""]])).unwrap(),
            r#"[["a",""]]"#
        );
    }
}
