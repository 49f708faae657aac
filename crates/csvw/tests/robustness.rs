//! Bad input gets a clear, located error or warning; nothing panics and nothing is dropped.

use csvw::fetch::{Fetcher, Resource};
use csvw::{Diagnostic, Error, Options, Report, Severity};
use std::collections::HashMap;
use url::Url;

struct Web(HashMap<String, Vec<u8>>);

impl Web {
    fn new(files: &[(&str, &[u8])]) -> Self {
        Web(files
            .iter()
            .map(|(k, v)| (format!("http://example.org/{k}"), v.to_vec()))
            .collect())
    }
}

impl Fetcher for Web {
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String> {
        Ok(self
            .0
            .get(url.as_str())
            .map(|b| Resource::from_bytes(b.clone())))
    }
}

fn url(name: &str) -> Url {
    Url::parse(&format!("http://example.org/{name}")).unwrap()
}

fn rdf(web: &Web, start: &str) -> Result<(Report, Vec<oxrdf::Triple>), Error> {
    let mut triples = Vec::new();
    let r = csvw::to_rdf(&url(start), web, Options::default(), true, &mut triples)?;
    Ok((r, triples))
}

fn find<'a>(r: &'a Report, rule: &str) -> &'a Diagnostic {
    r.diagnostics
        .iter()
        .find(|d| d.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} diagnostic in {:#?}", r.diagnostics))
}

#[test]
fn malformed_json_is_an_error_naming_the_file() {
    let web = Web::new(&[("m.json", b"{\"url\": \"a.csv\",,}")]);
    let err = rdf(&web, "m.json").unwrap_err();
    let d = err.diagnostic().expect("a diagnostic");
    assert_eq!(d.rule, "json");
    assert_eq!(d.file.as_deref(), Some("http://example.org/m.json"));
    assert!(d.message.contains("line 1"), "{}", d.message);
}

#[test]
fn metadata_that_is_not_an_object_is_an_error() {
    for body in [&b"[]"[..], b"42", b"\"x\"", b"{}"] {
        let web = Web::new(&[("m.json", body)]);
        assert!(rdf(&web, "m.json").unwrap_err().diagnostic().is_some());
    }
}

#[test]
fn wrongly_typed_and_unknown_properties_are_warnings() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "a.csv",
        "null": 5, "separator": 1, "lang": "not a language", "flavour": "x",
        "tableSchema": {"columns": [{"titles": "a", "required": "yes"}, {"titles": "b"}]}}"##;
    let web = Web::new(&[("m.json", meta), ("a.csv", b"a,b\n1,2\n")]);
    let (r, triples) = rdf(&web, "m.json").unwrap();
    for rule in ["null", "separator", "lang", "property", "required"] {
        let d = find(&r, rule);
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.file.as_deref(), Some("http://example.org/m.json"));
    }
    assert_eq!(triples.len(), 2, "the data is still converted");
}

#[test]
fn invalid_templates_and_patterns_are_warnings() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "a.csv",
        "tableSchema": {"aboutUrl": "{unclosed", "columns": [
          {"titles": "n", "datatype": {"base": "integer", "format": {"pattern": "#0.0#.#"}}},
          {"titles": "d", "datatype": {"base": "date", "format": "yy/MM/dd"}},
          {"titles": "s", "datatype": {"base": "string", "format": "(unclosed"}}]}}"##;
    let web = Web::new(&[("m.json", meta), ("a.csv", b"n,d,s\n1,2024-01-02,x\n")]);
    let (r, triples) = rdf(&web, "m.json").unwrap();
    assert!(find(&r, "aboutUrl").message.contains("unclosed"));
    assert_eq!(
        r.diagnostics.iter().filter(|d| d.rule == "format").count(),
        3
    );
    assert_eq!(triples.len(), 3);
}

#[test]
fn undecodable_bytes_are_replaced_and_reported() {
    let web = Web::new(&[("a.csv", b"name\ncaf\xe9\n")]);
    let (r, triples) = rdf(&web, "a.csv").unwrap();
    let d = find(&r, "encoding");
    assert_eq!(d.file.as_deref(), Some("http://example.org/a.csv"));
    assert!(triples[0].object.to_string().contains('\u{fffd}'));
}

#[test]
fn ragged_rows_are_reported_with_their_rows_and_keep_every_cell() {
    let web = Web::new(&[("a.csv", b"a,b,c\n1,2\n1,2,3,4\n")]);
    let (r, triples) = rdf(&web, "a.csv").unwrap();
    let ragged: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| d.rule == "ragged")
        .collect();
    assert_eq!(ragged.len(), 2);
    assert_eq!(ragged[0].row, Some(2));
    assert_eq!(ragged[1].row, Some(3));
    // Row 2: a, b (c is empty, so null); row 3: a, b, c and the extra cell.
    assert_eq!(triples.len(), 6);
    assert!(triples
        .iter()
        .any(|t| t.predicate.as_str().ends_with("#_col.4")));
}

#[test]
fn cell_errors_name_file_row_column_value_and_rule() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "a.csv",
        "tableSchema": {"columns": [{"name": "amount", "titles": "Amount", "datatype": "decimal"}]}}"##;
    let web = Web::new(&[("m.json", meta), ("a.csv", b"Amount\n12.50\n\"twelve\"\n")]);
    let r = csvw::validate(&url("m.json"), &web, Options::default()).unwrap();
    let d = find(&r, "datatype");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.file.as_deref(), Some("http://example.org/a.csv"));
    assert_eq!(d.row, Some(3));
    assert_eq!(d.column.as_deref(), Some("amount"));
    assert_eq!(d.value.as_deref(), Some("twelve"));
}

/// Money in a number format (the one-pass parse, which leaves out the ordinal when nothing
/// needs it) is still held to its bounds, and the error names the cell.
#[test]
fn formatted_amounts_are_checked_against_their_bounds() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "a.csv",
        "tableSchema": {"columns": [{"name": "amount", "titles": "Amount",
          "datatype": {"base": "decimal", "format": {"groupChar": ","},
                       "minimum": "500", "maxExclusive": "1000000"}}]}}"##;
    let csv = b"Amount\n\"1,500.00\"\n499.99\n\"999,999.99\"\n\"1,000,000\"\n";
    let web = Web::new(&[("m.json", meta), ("a.csv", csv)]);
    let r = csvw::validate(&url("m.json"), &web, Options::default()).unwrap();
    let broken: Vec<_> = r
        .diagnostics
        .iter()
        .map(|d| (d.rule.as_str(), d.row, d.value.as_deref()))
        .collect();
    assert_eq!(
        broken,
        [
            ("minimum", Some(3), Some("499.99")),
            ("maxExclusive", Some(5), Some("1,000,000"))
        ]
    );
}

#[test]
fn primary_key_duplicates_are_errors_when_validating() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "a.csv",
        "tableSchema": {"primaryKey": "id", "columns": [{"name": "id", "titles": "id"}]}}"##;
    let web = Web::new(&[("m.json", meta), ("a.csv", b"id\nA\nB\nA\n")]);
    let r = csvw::validate(&url("m.json"), &web, Options::default()).unwrap();
    let d = find(&r, "primaryKey");
    assert_eq!((d.row, d.value.as_deref()), (Some(4), Some("A")));
    assert!(d.message.contains("row 2"), "{}", d.message);
}

struct Count<'a>(&'a mut usize, &'a mut usize);

impl csvw::rdf::TripleSink for Count<'_> {
    fn triple(&mut self, t: oxrdf::TripleRef<'_>) -> csvw::Result<()> {
        *self.0 += 1;
        if let oxrdf::TermRef::Literal(l) = t.object {
            *self.1 = (*self.1).max(l.value().len());
        }
        Ok(())
    }
}

#[test]
fn a_100_megabyte_cell_converts() {
    let mut csv = b"name,text\nbig,\"".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 100 * 1024 * 1024));
    csv.extend(b"\"\nsmall,y\n");
    let web = Web::new(&[("a.csv", &csv)]);
    let (mut count, mut longest) = (0usize, 0usize);
    let r = csvw::to_rdf(
        &url("a.csv"),
        &web,
        Options::default(),
        true,
        &mut Count(&mut count, &mut longest),
    )
    .unwrap();
    assert!(!r.has_errors());
    assert_eq!(count, 4);
    assert_eq!(longest, 100 * 1024 * 1024);
}

#[test]
fn a_missing_table_is_a_fetch_error_not_a_panic() {
    let meta = br##"{"@context": "http://www.w3.org/ns/csvw", "url": "gone.csv"}"##;
    let web = Web::new(&[("m.json", meta)]);
    match rdf(&web, "m.json") {
        Err(Error::Fetch { url, .. }) => assert_eq!(url, "http://example.org/gone.csv"),
        other => panic!("expected a fetch error, got {other:?}"),
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep beside the cargo-fuzz targets: mutated metadata and CSV.
    let seed_meta = br##"{"@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}], "url": "a.csv",
        "dialect": {"delimiter": ";", "quoteChar": "'", "skipRows": 1, "commentPrefix": "#"},
        "tableSchema": {"aboutUrl": "{#id}", "primaryKey": "id", "columns": [
          {"name": "id", "titles": "id", "datatype": {"base": "integer", "format": "#,##0"}},
          {"name": "d", "titles": "d", "datatype": {"base": "date", "format": "dd/MM/yyyy"}, "separator": " "}]}}"##;
    let seed_csv = b"skip me\n#c\nid;d\n'1,000';'01/02/2024 03/04/2024'\n2;x\n";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut meta = seed_meta.to_vec();
        let mut csv = seed_csv.to_vec();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let target = if x & 1 == 0 { &mut meta } else { &mut csv };
            let i = (x >> 8) as usize % target.len();
            match (x >> 40) % 3 {
                0 => target[i] = (x >> 16) as u8,
                1 => {
                    target.remove(i);
                }
                _ => {
                    let specials = b"{}[]\",;'#%\\\xff";
                    target.insert(i, specials[(x >> 20) as usize % specials.len()])
                }
            }
        }
        let web = Web::new(&[("m.json", &meta), ("a.csv", &csv)]);
        let _ = rdf(&web, "m.json");
        let mut out = Vec::new();
        let _ = csvw::to_json(
            &url("m.json"),
            &web,
            Options::default(),
            false,
            false,
            &mut out,
        );
        let _ = csvw::validate(&url("m.json"), &web, Options::default());
    }
}
