//! Generating RDF from tabular data (csv2rdf), standard and minimal modes, with oxigraph's
//! term model. Triples go to a [`TripleSink`]; [`SerializerSink`] writes them with
//! oxigraph's serializers.

use crate::context::{expand_term, CSVW, RDF, XSD};
use crate::datatype::push_padded;
use crate::diag::{Diagnostic, Result};
use crate::metadata::{property_iri, TableGroup};
use crate::table::{AnnotatedTable, CellValue, Row, Sink, Value, ValueKind};
use oxrdf::{
    BlankNode, BlankNodeRef, Literal, LiteralRef, NamedNode, NamedNodeRef, NamedOrBlankNode,
    NamedOrBlankNodeRef, TermRef, Triple, TripleRef,
};
use oxrdfio::{RdfFormat, RdfSerializer};
use serde_json::Value as Json;
use std::io::Write;

/// Receives triples (borrowed: a sink that keeps them makes them owned).
pub trait TripleSink {
    fn triple(&mut self, t: TripleRef<'_>) -> Result<()>;
}

impl TripleSink for Vec<Triple> {
    fn triple(&mut self, t: TripleRef<'_>) -> Result<()> {
        self.push(t.into_owned());
        Ok(())
    }
}

/// Writes triples with an oxigraph serializer (Turtle, N-Triples, JSON-LD, RDF/XML…).
///
/// N-Triples is written byte for byte as oxigraph's own N-Triples serializer writes it (each
/// triple is oxrdf's `Display` of the triple, then ` .` and a newline), into a string handed
/// to the writer in blocks of 64 KiB: oxrdf writes literals a character at a time, and through
/// `io::Write` each character costs a call into the writer. The terms that need no escaping
/// (IRIs and blank nodes, which oxrdf writes as they are, and literals whose text has none of
/// the characters N-Triples escapes) are copied into the block directly, without the
/// formatting machinery's nested calls; any literal with a character to escape is written by
/// oxrdf's `Display`, so the escaping stays oxigraph's. A test holds the two outputs equal.
pub struct SerializerSink<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    NTriples { block: String, writer: W },
    Other(Box<oxrdfio::WriterQuadSerializer<W>>),
}

const BLOCK: usize = 64 * 1024;

impl<W: Write> SerializerSink<W> {
    pub fn new(format: RdfFormat, writer: W) -> Self {
        if format == RdfFormat::NTriples {
            return SerializerSink {
                inner: Inner::NTriples {
                    block: String::with_capacity(BLOCK + 4096),
                    writer,
                },
            };
        }
        let mut s = RdfSerializer::from_format(format);
        if matches!(
            format,
            RdfFormat::Turtle | RdfFormat::TriG | RdfFormat::JsonLd { .. }
        ) {
            for (p, ns) in [
                ("csvw", CSVW),
                ("rdf", RDF),
                ("xsd", XSD),
                ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
            ] {
                if let Ok(with) = s.clone().with_prefix(p, ns) {
                    s = with;
                }
            }
        }
        SerializerSink {
            inner: Inner::Other(Box::new(s.for_writer(writer))),
        }
    }

    /// Finishes the document and returns the writer.
    pub fn finish(self) -> std::io::Result<W> {
        match self.inner {
            Inner::NTriples { block, mut writer } => {
                writer.write_all(block.as_bytes())?;
                Ok(writer)
            }
            Inner::Other(s) => s.finish(),
        }
    }
}

impl<W: Write> TripleSink for SerializerSink<W> {
    fn triple(&mut self, t: TripleRef<'_>) -> Result<()> {
        match &mut self.inner {
            Inner::NTriples { block, writer } => {
                // The subject written from its parts: converted into a term first, it was
                // copied whole through the stack, a load stalled on the stores just made.
                match t.subject {
                    NamedOrBlankNodeRef::NamedNode(n) => push_iri(block, n),
                    NamedOrBlankNodeRef::BlankNode(b) => push_blank(block, b),
                }
                block.push(' ');
                push_iri(block, t.predicate);
                block.push(' ');
                push_term(block, t.object);
                block.push_str(" .\n");
                if block.len() >= BLOCK {
                    writer.write_all(block.as_bytes())?;
                    block.clear();
                }
            }
            Inner::Other(s) => s.serialize_triple(t)?,
        }
        Ok(())
    }
}

fn push_iri(block: &mut String, iri: NamedNodeRef<'_>) {
    block.push('<');
    block.push_str(iri.as_str());
    block.push('>');
}

/// Whether N-Triples writes this text as it is (oxrdf's `print_quoted_str` escapes the
/// control characters, `"`, `\\`, U+007F, U+FFFE and U+FFFF).
fn needs_no_escape(text: &str) -> bool {
    !may_need_escape(text.as_bytes()) || !text.chars().any(escaped_char)
}

/// The characters oxrdf's N-Triples writer escapes in a literal.
fn escaped_char(c: char) -> bool {
    c < ' ' || matches!(c, '"' | '\\' | '\u{7F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether a byte that may start an escape occurs: one below 0x20, `"`, `\\`, 0x7F, or 0xEF
/// (which leads U+FFFE and U+FFFF). Eight bytes at a time, each word tested for those bytes
/// with the usual carry tricks (exact for "is there one": a false positive byte can only
/// follow a true one).
fn may_need_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn has_zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    #[inline]
    fn flagged(w: u64) -> bool {
        // A byte below 0x20: subtracting 0x20 borrows from it and its high bit was clear.
        let below = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        below
            | has_zero(w ^ (ONES * u64::from(b'"')))
            | has_zero(w ^ (ONES * u64::from(b'\\')))
            | has_zero(w ^ (ONES * 0x7F))
            | has_zero(w ^ (ONES * 0xEF))
            != 0
    }
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if flagged(u64::from_le_bytes(w)) {
            return true;
        }
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return false;
    }
    // The tail: the last eight bytes, over some tested already, when there are eight; else
    // its bytes shifted into a word of a byte that is never flagged. (Copied into an array
    // on the stack and read back as a word, the tail cost a call to `memcpy` and a stalled
    // load: a sixth of the writer's time in `push_term`.)
    if let Some(last) = bytes.last_chunk::<8>() {
        return flagged(u64::from_le_bytes(*last));
    }
    let mut w = u64::from_le_bytes([b'a'; 8]);
    for (k, &b) in rest.iter().enumerate() {
        let shift = 8 * k;
        w = (w & !(0xFF << shift)) | (u64::from(b) << shift);
    }
    flagged(w)
}

fn push_blank(block: &mut String, b: BlankNodeRef<'_>) {
    block.push_str("_:");
    block.push_str(b.as_str());
}

fn push_term(block: &mut String, o: TermRef<'_>) {
    match o {
        TermRef::NamedNode(n) => push_iri(block, n),
        TermRef::BlankNode(b) => push_blank(block, b),
        TermRef::Literal(l) if needs_no_escape(l.value()) => {
            block.push('"');
            block.push_str(l.value());
            block.push('"');
            if let Some(language) = l.language() {
                block.push('@');
                block.push_str(language);
            } else if l.datatype() != XSD_STRING {
                block.push_str("^^");
                push_iri(block, l.datatype());
            }
        }
        other => {
            use std::fmt::Write as _;
            // Writing into a String cannot fail.
            let _ = write!(block, "{other}");
        }
    }
}

const fn term(iri: &'static str) -> NamedNodeRef<'static> {
    NamedNodeRef::new_unchecked(iri)
}
const RDF_TYPE: NamedNodeRef<'static> = term("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
const RDF_FIRST: NamedNodeRef<'static> = term("http://www.w3.org/1999/02/22-rdf-syntax-ns#first");
const RDF_REST: NamedNodeRef<'static> = term("http://www.w3.org/1999/02/22-rdf-syntax-ns#rest");
const RDF_NIL: NamedNodeRef<'static> = term("http://www.w3.org/1999/02/22-rdf-syntax-ns#nil");
const RDFS_COMMENT: NamedNodeRef<'static> = term("http://www.w3.org/2000/01/rdf-schema#comment");
const XSD_INTEGER: NamedNodeRef<'static> = term("http://www.w3.org/2001/XMLSchema#integer");
const XSD_STRING: NamedNodeRef<'static> = term("http://www.w3.org/2001/XMLSchema#string");
const CSVW_TABLE_GROUP: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#TableGroup");
const CSVW_TABLE_CLASS: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#Table");
const CSVW_ROW_CLASS: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#Row");
const CSVW_TABLE: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#table");
const CSVW_ROW: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#row");
const CSVW_URL: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#url");
const CSVW_ROWNUM: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#rownum");
const CSVW_TITLE: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#title");
const CSVW_DESCRIBES: NamedNodeRef<'static> = term("http://www.w3.org/ns/csvw#describes");

fn iri(s: &str) -> NamedNode {
    NamedNode::new_unchecked(s)
}

/// csv2rdf as a table [`Sink`].
pub struct RdfConverter<'s> {
    pub minimal: bool,
    out: &'s mut (dyn TripleSink + Send),
    group: Option<NamedOrBlankNode>,
    table: Option<NamedOrBlankNode>,
    /// The default property of each column, validated once per table.
    default_properties: Vec<Option<NamedNode>>,
    /// IRIs that could not be used, reported as warnings.
    pub problems: Vec<Diagnostic>,
    /// Counts, for benchmarks and reports.
    pub triples: u64,
    /// Blank nodes are this random start plus a count: unique in the output like random
    /// ones, without drawing a random number for each.
    blank_base: u128,
    blank_count: u128,
    /// The label's start for ids whose upper 64 bits are the first: `n` and those bits in
    /// hexadecimal (none when they are zero).
    blank_prefix: (u64, String),
    /// The row's number and its `#row=` IRI, written again for each row.
    row_number: String,
    row_url: String,
    /// The label of the row's blank node, written again for each row.
    row_node: String,
}

impl<'s> RdfConverter<'s> {
    pub fn new(out: &'s mut (dyn TripleSink + Send), minimal: bool) -> Self {
        RdfConverter {
            minimal,
            out,
            group: None,
            table: None,
            default_properties: Vec::new(),
            problems: Vec::new(),
            triples: 0,
            blank_base: {
                use std::hash::BuildHasher;
                let h = std::collections::hash_map::RandomState::new();
                (u128::from(h.hash_one(1u8)) << 64) | u128::from(h.hash_one(2u8))
            },
            blank_count: 0,
            blank_prefix: (0, "n".into()),
            row_number: String::new(),
            row_url: String::new(),
            row_node: String::new(),
        }
    }

    /// A new blank node, labelled `n` and its id in lower-case hexadecimal. oxrdf keeps a
    /// label that is not a number as text; a numbered node's label it recomputes each time
    /// the node is borrowed, and a row's node is borrowed for each of its triples.
    fn fresh(&mut self) -> BlankNode {
        let mut label = String::with_capacity(self.blank_prefix.1.len() + 16);
        self.fresh_label(&mut label);
        // A letter and hexadecimal digits: a valid blank node label.
        BlankNode::new_unchecked(label)
    }

    /// The label of a new blank node (see [`Self::fresh`]), written into `label`.
    fn fresh_label(&mut self, label: &mut String) {
        self.blank_count += 1;
        let id = self.blank_base.wrapping_add(self.blank_count);
        let (high, low) = ((id >> 64) as u64, id as u64);
        if self.blank_prefix.0 != high {
            self.blank_prefix = (high, format!("n{high:x}"));
        }
        let prefix = if high == 0 { "n" } else { &self.blank_prefix.1 };
        // The lower 64 bits: all 16 digits after a prefix, else without leading zeros.
        let digits = if high == 0 {
            (64 - low.leading_zeros()).div_ceil(4).max(1)
        } else {
            16
        };
        label.clear();
        label.push_str(prefix);
        for k in (0..digits).rev() {
            label.push(char::from(
                b"0123456789abcdef"[((low >> (4 * k)) & 0xF) as usize],
            ));
        }
    }

    fn emit<'a>(
        &mut self,
        s: impl Into<NamedOrBlankNodeRef<'a>>,
        p: impl Into<NamedNodeRef<'a>>,
        o: impl Into<TermRef<'a>>,
    ) -> Result<()> {
        self.triples += 1;
        self.out.triple(TripleRef::new(s, p, o))
    }

    fn bad_iri(&mut self, iri_str: &str, file: &str) {
        if self.problems.len() < 1000 {
            self.problems.push(
                Diagnostic::warning(
                    "iri",
                    format!("{iri_str:?} is not a valid IRI; its triple is left out"),
                )
                .file(file.to_string())
                .value(iri_str.to_string()),
            );
        }
    }

    fn id_node(&mut self, id: &Option<String>) -> NamedOrBlankNode {
        match id.as_deref().and_then(|i| NamedNode::new(i).ok()) {
            Some(n) => n.into(),
            None => self.fresh().into(),
        }
    }

    /// JSON-LD to RDF for notes and common properties (csv2rdf §6).
    fn jsonld(&mut self, subject: &NamedOrBlankNode, property: &str, value: &Json) -> Result<()> {
        let p = match NamedNode::new(property_iri(property)) {
            Ok(p) => p,
            Err(_) => return Ok(()),
        };
        match value {
            Json::Array(a) => {
                for v in a {
                    self.jsonld(subject, property, v)?;
                }
            }
            Json::Object(o) if o.contains_key("@value") => {
                let lexical = match &o["@value"] {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let lit = if let Some(l) = o.get("@language").and_then(Json::as_str) {
                    Literal::new_language_tagged_literal(lexical.clone(), l.to_ascii_lowercase())
                        .unwrap_or_else(|_| Literal::new_simple_literal(lexical))
                } else if let Some(t) = o.get("@type").and_then(Json::as_str) {
                    let t = expand_term(t).unwrap_or_else(|| t.to_string());
                    match NamedNode::new(t) {
                        Ok(t) => Literal::new_typed_literal(lexical, t),
                        Err(_) => Literal::new_simple_literal(lexical),
                    }
                } else {
                    match &o["@value"] {
                        Json::Bool(b) => {
                            Literal::new_typed_literal(b.to_string(), iri(&format!("{XSD}boolean")))
                        }
                        Json::Number(n) => number_literal(n),
                        _ => Literal::new_simple_literal(lexical),
                    }
                };
                self.emit(subject, &p, &lit)?;
            }
            Json::Object(o) => {
                let node: NamedOrBlankNode = match o
                    .get("@id")
                    .and_then(Json::as_str)
                    .and_then(|i| NamedNode::new(i).ok())
                {
                    Some(n) => n.into(),
                    None => self.fresh().into(),
                };
                self.emit(subject, &p, &node)?;
                if let Some(t) = o.get("@type") {
                    let types: Vec<&Json> = match t {
                        Json::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for t in types.into_iter().filter_map(Json::as_str) {
                        let t = expand_term(t).unwrap_or_else(|| t.to_string());
                        if let Ok(t) = NamedNode::new(t) {
                            self.emit(&node, RDF_TYPE, &t)?;
                        }
                    }
                }
                for (k, v) in o {
                    if !k.starts_with('@') {
                        self.jsonld(&node, k, v)?;
                    }
                }
            }
            Json::Bool(b) => {
                let lit = Literal::new_typed_literal(b.to_string(), iri(&format!("{XSD}boolean")));
                self.emit(subject, &p, &lit)?;
            }
            Json::Number(n) => {
                let lit = number_literal(n);
                self.emit(subject, &p, &lit)?;
            }
            Json::String(s) => {
                self.emit(subject, &p, &Literal::new_simple_literal(s))?;
            }
            Json::Null => {}
        }
        Ok(())
    }

    fn literal(v: &Value) -> LiteralRef<'_> {
        match &v.kind {
            ValueKind::String(None) => LiteralRef::new_simple_literal(&v.lexical),
            // Language tags were validated and lower-cased when the table was set up.
            ValueKind::String(Some(lang)) => {
                LiteralRef::new_language_tagged_literal_unchecked(&v.lexical, lang)
            }
            // Datatype IRIs were validated when the table was set up.
            ValueKind::Typed { iri: t, .. } => {
                LiteralRef::new_typed_literal(&v.lexical, NamedNodeRef::new_unchecked(t))
            }
        }
    }
}

fn number_literal(n: &serde_json::Number) -> Literal {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() != 0.0 => {
            Literal::new_typed_literal(format_double(f), iri(&format!("{XSD}double")))
        }
        _ => {
            let s = match n.as_f64() {
                Some(f) if n.is_f64() => format!("{}", f as i64),
                _ => n.to_string(),
            };
            Literal::new_typed_literal(s, iri(&format!("{XSD}integer")))
        }
    }
}

fn format_double(f: f64) -> String {
    let s = format!("{f:E}");
    if s.contains('.') {
        s
    } else {
        s.replacen('E', ".0E", 1)
    }
}

impl Sink for RdfConverter<'_> {
    fn start_group(&mut self, group: &TableGroup) -> Result<()> {
        if self.minimal {
            return Ok(());
        }
        let g = self.id_node(&group.id);
        self.emit(&g, RDF_TYPE, CSVW_TABLE_GROUP)?;
        for (k, v) in &group.annotations {
            self.jsonld(&g, k, v)?;
        }
        self.group = Some(g);
        Ok(())
    }

    fn start_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        self.default_properties.clear();
        if self.minimal || at.table.suppress_output {
            return Ok(());
        }
        let t = self.id_node(&at.table.id);
        if let Some(g) = self.group.clone() {
            self.emit(&g, CSVW_TABLE, &t)?;
        }
        self.emit(&t, RDF_TYPE, CSVW_TABLE_CLASS)?;
        self.emit(
            &t,
            CSVW_URL,
            NamedNodeRef::new_unchecked(at.table.url.as_str()),
        )?;
        for (k, v) in &at.table.annotations {
            self.jsonld(&t, k, v)?;
        }
        self.table = Some(t);
        Ok(())
    }

    fn row(&mut self, at: &AnnotatedTable<'_>, row: &Row) -> Result<()> {
        if at.table.suppress_output {
            return Ok(());
        }

        while self.default_properties.len() < at.columns.len() {
            let i = self.default_properties.len();
            let p = NamedNode::new(at.default_properties[i].as_str()).ok();
            self.default_properties.push(p);
        }
        // The row's blank node: its label written into a buffer kept from row to row.
        let mut label = std::mem::take(&mut self.row_node);
        let result = if self.minimal {
            self.cells(at, row, None)
        } else {
            self.fresh_label(&mut label);
            let r = BlankNodeRef::new_unchecked(&label);
            self.row_triples(at, row, r)
                .and_then(|()| self.cells(at, row, Some(r)))
        };
        self.row_node = label;
        result
    }

    fn end_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        if self.minimal || at.table.suppress_output {
            return Ok(());
        }
        if let Some(t) = self.table.clone() {
            for c in &at.comments {
                self.emit(&t, RDFS_COMMENT, LiteralRef::new_simple_literal(c))?;
            }
        }
        Ok(())
    }

    fn end_group(&mut self, _group: &TableGroup) -> Result<()> {
        Ok(())
    }
}

impl RdfConverter<'_> {
    /// The row's own triples in standard mode (csv2rdf §4.2: the row resource `r`, its
    /// number, its URL and its titles).
    fn row_triples(
        &mut self,
        at: &AnnotatedTable<'_>,
        row: &Row,
        r: BlankNodeRef<'_>,
    ) -> Result<()> {
        // The table's node is borrowed, not cloned, for each row.
        let table = self.table.take();
        let written = match &table {
            Some(t) => self.emit(t, CSVW_ROW, r),
            None => Ok(()),
        };
        self.table = table;
        written?;
        self.emit(r, RDF_TYPE, CSVW_ROW_CLASS)?;
        let (mut n, mut u) = (
            std::mem::take(&mut self.row_number),
            std::mem::take(&mut self.row_url),
        );
        n.clear();
        u.clear();
        // The numbers as `{}` writes them, without the formatting machinery.
        push_padded(&mut n, row.number, 1);
        u.push_str(at.table.url.as_str().split('#').next().unwrap_or(""));
        u.push_str("#row=");
        push_padded(&mut u, row.source_number, 1);
        let written = self
            .emit(
                r,
                CSVW_ROWNUM,
                LiteralRef::new_typed_literal(&n, XSD_INTEGER),
            )
            .and_then(|()| self.emit(r, CSVW_URL, NamedNodeRef::new_unchecked(&u)));
        (self.row_number, self.row_url) = (n, u);
        written?;
        for (title, lang) in &row.titles {
            let lit = match lang {
                Some(l) => LiteralRef::new_language_tagged_literal_unchecked(title, l),
                None => LiteralRef::new_simple_literal(title),
            };
            self.emit(r, CSVW_TITLE, lit)?;
        }
        Ok(())
    }

    /// The triples of a row's cells (csv2rdf §4.2, "for each cell"), with `r` the row's
    /// node in standard mode.
    fn cells(
        &mut self,
        at: &AnnotatedTable<'_>,
        row: &Row,
        r: Option<BlankNodeRef<'_>>,
    ) -> Result<()> {
        let props = std::mem::take(&mut self.default_properties);
        let result = self.cells_with(at, row, r, &props);
        self.default_properties = props;
        result
    }

    fn cells_with(
        &mut self,
        at: &AnnotatedTable<'_>,
        row: &Row,
        r: Option<BlankNodeRef<'_>>,
        props: &[Option<NamedNode>],
    ) -> Result<()> {
        let file = at.table.url.as_str();
        // A cell without an aboutUrl describes the row's own blank node.
        let default_subject = row
            .cells
            .iter()
            .zip(&at.columns)
            .enumerate()
            .any(|(i, (_, col))| !col.suppress_output && at.url(row, i, 0).is_none())
            .then(|| self.fresh());
        // The subjects the row is said to describe: mostly one, kept apart so that a row
        // allocates nothing for it.
        let mut first_described: Option<NamedOrBlankNodeRef<'_>> = None;
        let mut described: Vec<NamedOrBlankNodeRef<'_>> = Vec::new();
        for (i, cell) in row.cells.iter().enumerate() {
            let col = &at.columns[i];
            if col.suppress_output {
                continue;
            }
            let subject: NamedOrBlankNodeRef<'_> = match at.url(row, i, 0) {
                Some(a) if cell.invalid_urls & 1 != 0 => {
                    self.bad_iri(a, file);
                    continue;
                }
                Some(a) => NamedNodeRef::new_unchecked(a).into(),
                None => match &default_subject {
                    Some(b) => b.as_ref().into(),
                    None => continue,
                },
            };
            if let Some(r) = r {
                // The cells of a row mostly share one subject, the same `Arc`: the address
                // is compared before the text.
                let same = |d: &NamedOrBlankNodeRef<'_>| match (d, &subject) {
                    (NamedOrBlankNodeRef::NamedNode(a), NamedOrBlankNodeRef::NamedNode(b)) => {
                        std::ptr::eq(a.as_str(), b.as_str()) || a == b
                    }
                    (a, b) => a == b,
                };
                let seen = match &first_described {
                    None => {
                        first_described = Some(subject);
                        false
                    }
                    Some(d) => same(d) || described.iter().any(same),
                };
                if !seen {
                    if first_described.is_some_and(|d| !same(&d)) {
                        described.push(subject);
                    }
                    self.emit(r, CSVW_DESCRIBES, subject)?;
                }
            }
            let p: NamedNodeRef<'_> = match at.url(row, i, 1) {
                Some(p) if cell.invalid_urls & 2 != 0 => {
                    self.bad_iri(p, file);
                    continue;
                }
                Some(p) => NamedNodeRef::new_unchecked(p),
                None => match &props[i] {
                    Some(p) => p.as_ref(),
                    None => {
                        let bad = at.default_properties[i].clone();
                        self.bad_iri(&bad, file);
                        continue;
                    }
                },
            };
            if let Some(v) = at.url(row, i, 2) {
                if cell.invalid_urls & 4 != 0 {
                    self.bad_iri(v, file);
                } else {
                    self.emit(subject, p, NamedNodeRef::new_unchecked(v))?;
                }
                continue;
            }
            match &cell.value {
                CellValue::Null => {}
                CellValue::One(v) => self.emit(subject, p, Self::literal(v))?,
                CellValue::List(vs) if col.props.ordered => {
                    if vs.is_empty() {
                        self.emit(subject, p, RDF_NIL)?;
                        continue;
                    }
                    let nodes: Vec<BlankNode> = vs.iter().map(|_| self.fresh()).collect();
                    self.emit(subject, p, &nodes[0])?;
                    for (k, v) in vs.iter().enumerate() {
                        self.emit(&nodes[k], RDF_FIRST, Self::literal(v))?;
                        let rest: TermRef<'_> = match nodes.get(k + 1) {
                            Some(n) => n.into(),
                            None => RDF_NIL.into(),
                        };
                        self.emit(&nodes[k], RDF_REST, rest)?;
                    }
                }
                CellValue::List(vs) => {
                    for v in vs {
                        self.emit(subject, p, Self::literal(v))?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time test agrees with the character-by-character definition: every
    /// character that matters, at every position of texts from 0 to 19 bytes, among ASCII
    /// and multi-byte neighbours (U+00A3, U+F000, U+FFFD lead with bytes close to the flagged).
    #[test]
    fn escape_check_agrees_with_the_character_test() {
        let probes = [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1F}',
            ' ',
            '!',
            '"',
            '#',
            '[',
            '\\',
            ']',
            '\u{7E}',
            '\u{7F}',
            '\u{80}',
            '£',
            'é',
            '\u{F000}',
            '\u{FFFD}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{10000}',
        ];
        let mut checked = 0;
        for len in 0..20 {
            for at in 0..len.max(1) {
                for p in probes {
                    for filler in ['a', '£'] {
                        let text: String =
                            (0..len).map(|i| if i == at { p } else { filler }).collect();
                        assert_eq!(
                            needs_no_escape(&text),
                            !text.chars().any(escaped_char),
                            "{text:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 8000);
        // Two flagged characters, and a flagged one just after a chunk boundary.
        assert!(!needs_no_escape("abcdefg\"\n"));
        assert!(!needs_no_escape("abcdefgh\u{1}"));
        assert!(needs_no_escape("abcdefgh ijklmnop qrstuvwx"));
    }

    /// Fresh blank nodes are labelled `n` and their id in hexadecimal, kept as text, and
    /// differ: including the ids with leading zeros, those either side of 2^64 (where the
    /// label gains its cached upper half) and the wrap past the largest id.
    #[test]
    fn fresh_blank_nodes_are_labelled_by_their_ids() {
        let mut sink: Vec<Triple> = Vec::new();
        let mut c = RdfConverter::new(&mut sink, false);
        let (mut seen, mut ids) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        let edge = 1u128 << 64;
        for base in [
            0,
            0xF,
            0x10,
            0x1234_5678_9abc,
            edge - 2,
            edge,
            edge | 0xF,
            u128::MAX - 1,
            u128::MAX,
        ] {
            c.blank_base = base;
            c.blank_count = 0;
            for k in 1..=3u128 {
                let id = base.wrapping_add(k);
                let b = c.fresh();
                assert_eq!(b.as_str(), format!("n{id:x}"));
                assert_eq!(b.as_ref().unique_id(), None, "{id:x} kept as text");
                assert!(BlankNode::new(b.as_str()).is_ok());
                seen.insert(b);
                ids.insert(id);
            }
        }
        assert_eq!(seen.len(), ids.len());
    }

    #[test]
    fn n_triples_in_blocks_are_byte_for_byte_oxigraphs() {
        let s = NamedNode::new_unchecked("http://example.org/a b?c=\u{e9}");
        let p = NamedNode::new_unchecked("http://example.org/p");
        let b = BlankNode::new_from_unique_id(0x1234_5678_9abc);
        let objects: Vec<oxrdf::Term> = vec![
            Literal::new_simple_literal("line\nbreak \"quoted\" back\\slash tab\t £ \u{1F600} \r")
                .into(),
            Literal::new_language_tagged_literal_unchecked("Grŵp", "cy").into(),
            Literal::new_typed_literal("2024-01-31", iri(&format!("{XSD}date"))).into(),
            Literal::new_typed_literal("1", XSD_INTEGER).into(),
            Literal::new_typed_literal("typed \"string\"", XSD_STRING).into(),
            Literal::new_typed_literal("plain typed string", XSD_STRING).into(),
            Literal::new_language_tagged_literal_unchecked("say \"hi\"", "en-GB").into(),
            Literal::new_typed_literal("a\\b", XSD_INTEGER).into(),
            Literal::new_simple_literal("").into(),
            Literal::new_simple_literal("del \u{7F} bom \u{FEFF} \u{FFFE}\u{FFFF} \u{F000} \u{1}")
                .into(),
            b.clone().into(),
            s.clone().into(),
        ];
        let mut ours = SerializerSink::new(RdfFormat::NTriples, Vec::new());
        let mut theirs = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
        // Enough triples to cross several blocks.
        for n in 0..3000 {
            for o in &objects {
                let subject: NamedOrBlankNodeRef<'_> = if n % 2 == 0 {
                    s.as_ref().into()
                } else {
                    b.as_ref().into()
                };
                let t = TripleRef::new(subject, p.as_ref(), o.as_ref());
                ours.triple(t).unwrap();
                theirs.serialize_triple(t).unwrap();
            }
        }
        let ours = ours.finish().unwrap();
        let theirs = theirs.finish().unwrap();
        assert!(ours.len() > 4 * BLOCK);
        assert!(
            ours == theirs,
            "the N-Triples differ from oxigraph's serializer"
        );
    }

    /// Every character of the first planes and the last of the BMP, alone and among plain
    /// text, as a simple, a language-tagged and a typed literal: the direct path and
    /// oxrdf's escaping write the same bytes.
    #[test]
    fn every_character_is_written_as_oxrdf_writes_it() {
        let s = NamedNode::new_unchecked("http://example.org/s");
        let p = NamedNode::new_unchecked("http://example.org/p");
        let mut ours = SerializerSink::new(RdfFormat::NTriples, Vec::new());
        let mut theirs = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
        let chars = (0u32..0x3000)
            .chain(0xD7F0..0xD800)
            .chain(0xE000..0xE010)
            .chain(0xEFF0..0xF010)
            .chain(0xFFE0..=0x1_0010)
            .chain(0x10_FFF0..=0x10_FFFF)
            .filter_map(char::from_u32);
        for c in chars {
            for text in [c.to_string(), format!("ab{c}cd")] {
                for o in [
                    Literal::new_simple_literal(&text),
                    Literal::new_language_tagged_literal_unchecked(&text, "en"),
                    Literal::new_typed_literal(&text, XSD_INTEGER),
                ] {
                    let t = TripleRef::new(&s, &p, &o);
                    ours.triple(t).unwrap();
                    theirs.serialize_triple(t).unwrap();
                }
            }
        }
        let ours = ours.finish().unwrap();
        let theirs = theirs.finish().unwrap();
        assert!(
            ours == theirs,
            "the N-Triples differ from oxigraph's serializer"
        );
    }
}
