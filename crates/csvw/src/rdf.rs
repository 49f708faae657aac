//! Generating RDF from tabular data (csv2rdf), standard and minimal modes, with oxigraph's
//! term model. Triples go to a [`TripleSink`]; [`SerializerSink`] writes them with
//! oxigraph's serializers.

use crate::context::{expand_term, CSVW, RDF, XSD};
use crate::diag::{Diagnostic, Result};
use crate::metadata::{property_iri, TableGroup};
use crate::table::{AnnotatedTable, CellValue, Row, Sink, Value, ValueKind};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use oxrdfio::{RdfFormat, RdfSerializer};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::io::Write;

/// Receives triples.
pub trait TripleSink {
    fn triple(&mut self, t: Triple) -> Result<()>;
}

impl TripleSink for Vec<Triple> {
    fn triple(&mut self, t: Triple) -> Result<()> {
        self.push(t);
        Ok(())
    }
}

/// Writes triples with an oxigraph serializer (Turtle, N-Triples, JSON-LD, RDF/XML…).
pub struct SerializerSink<W: Write> {
    inner: oxrdfio::WriterQuadSerializer<W>,
}

impl<W: Write> SerializerSink<W> {
    pub fn new(format: RdfFormat, writer: W) -> Self {
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
            inner: s.for_writer(writer),
        }
    }

    /// Finishes the document and returns the writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.inner.finish()
    }
}

impl<W: Write> TripleSink for SerializerSink<W> {
    fn triple(&mut self, t: Triple) -> Result<()> {
        self.inner.serialize_triple(&t)?;
        Ok(())
    }
}

fn iri(s: &str) -> NamedNode {
    NamedNode::new_unchecked(s)
}

fn csvw(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{CSVW}{local}"))
}

fn rdf_type() -> NamedNode {
    NamedNode::new_unchecked(format!("{RDF}type"))
}

/// csv2rdf as a table [`Sink`].
pub struct RdfConverter<'s> {
    pub minimal: bool,
    out: &'s mut dyn TripleSink,
    group: Option<NamedOrBlankNode>,
    table: Option<NamedOrBlankNode>,
    /// IRIs that could not be used, reported as warnings.
    pub problems: Vec<Diagnostic>,
    /// Counts, for benchmarks and reports.
    pub triples: u64,
}

impl<'s> RdfConverter<'s> {
    pub fn new(out: &'s mut dyn TripleSink, minimal: bool) -> Self {
        RdfConverter {
            minimal,
            out,
            group: None,
            table: None,
            problems: Vec::new(),
            triples: 0,
        }
    }

    fn emit(
        &mut self,
        s: impl Into<NamedOrBlankNode>,
        p: NamedNode,
        o: impl Into<Term>,
    ) -> Result<()> {
        self.triples += 1;
        self.out.triple(Triple::new(s, p, o))
    }

    fn node(&mut self, iri_str: &str, file: &str) -> Option<NamedNode> {
        match NamedNode::new(iri_str) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problems.push(
                    Diagnostic::warning(
                        "iri",
                        format!("{iri_str:?} is not a valid IRI ({e}); its triple is left out"),
                    )
                    .file(file.to_string())
                    .value(iri_str.to_string()),
                );
                None
            }
        }
    }

    fn id_node(&mut self, id: &Option<String>) -> NamedOrBlankNode {
        match id.as_deref().and_then(|i| NamedNode::new(i).ok()) {
            Some(n) => n.into(),
            None => BlankNode::default().into(),
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
                self.emit(subject.clone(), p, lit)?;
            }
            Json::Object(o) => {
                let node: NamedOrBlankNode = match o
                    .get("@id")
                    .and_then(Json::as_str)
                    .and_then(|i| NamedNode::new(i).ok())
                {
                    Some(n) => n.into(),
                    None => BlankNode::default().into(),
                };
                self.emit(subject.clone(), p, node.clone())?;
                if let Some(t) = o.get("@type") {
                    let types: Vec<&Json> = match t {
                        Json::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for t in types.into_iter().filter_map(Json::as_str) {
                        let t = expand_term(t).unwrap_or_else(|| t.to_string());
                        if let Ok(t) = NamedNode::new(t) {
                            self.emit(node.clone(), rdf_type(), t)?;
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
                self.emit(subject.clone(), p, lit)?;
            }
            Json::Number(n) => {
                let lit = number_literal(n);
                self.emit(subject.clone(), p, lit)?;
            }
            Json::String(s) => {
                self.emit(subject.clone(), p, Literal::new_simple_literal(s))?;
            }
            Json::Null => {}
        }
        Ok(())
    }

    fn literal(v: &Value) -> Literal {
        match &v.kind {
            ValueKind::String(None) => Literal::new_simple_literal(&v.lexical),
            ValueKind::String(Some(lang)) => {
                Literal::new_language_tagged_literal(v.lexical.clone(), lang.to_ascii_lowercase())
                    .unwrap_or_else(|_| Literal::new_simple_literal(&v.lexical))
            }
            ValueKind::Typed { iri: t, .. } => match NamedNode::new(t.as_ref()) {
                Ok(t) => Literal::new_typed_literal(v.lexical.clone(), t),
                Err(_) => Literal::new_simple_literal(&v.lexical),
            },
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
        self.emit(g.clone(), rdf_type(), csvw("TableGroup"))?;
        for (k, v) in &group.annotations {
            self.jsonld(&g, k, v)?;
        }
        self.group = Some(g);
        Ok(())
    }

    fn start_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        if self.minimal || at.table.suppress_output {
            return Ok(());
        }
        let t = self.id_node(&at.table.id);
        if let Some(g) = self.group.clone() {
            self.emit(g, csvw("table"), t.clone())?;
        }
        self.emit(t.clone(), rdf_type(), csvw("Table"))?;
        self.emit(t.clone(), csvw("url"), iri(at.table.url.as_str()))?;
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
        let file = at.table.url.as_str();
        let r: Option<NamedOrBlankNode> = if self.minimal {
            None
        } else {
            let r: NamedOrBlankNode = BlankNode::default().into();
            if let Some(t) = self.table.clone() {
                self.emit(t, csvw("row"), r.clone())?;
            }
            self.emit(r.clone(), rdf_type(), csvw("Row"))?;
            self.emit(
                r.clone(),
                csvw("rownum"),
                Literal::new_typed_literal(row.number.to_string(), iri(&format!("{XSD}integer"))),
            )?;
            let mut u = at.table.url.clone();
            u.set_fragment(Some(&format!("row={}", row.source_number)));
            self.emit(r.clone(), csvw("url"), iri(u.as_str()))?;
            for (title, lang) in &row.titles {
                let lit = match lang {
                    Some(l) => {
                        Literal::new_language_tagged_literal(title.clone(), l.to_ascii_lowercase())
                            .unwrap_or_else(|_| Literal::new_simple_literal(title))
                    }
                    None => Literal::new_simple_literal(title),
                };
                self.emit(r.clone(), csvw("title"), lit)?;
            }
            Some(r)
        };
        let default_subject: NamedOrBlankNode = BlankNode::default().into();
        let mut described: HashMap<NamedOrBlankNode, ()> = HashMap::new();
        for (i, cell) in row.cells.iter().enumerate() {
            let col = &at.columns[i];
            if col.suppress_output {
                continue;
            }
            let subject: NamedOrBlankNode = match &cell.about_url {
                Some(a) => match self.node(a, file) {
                    Some(n) => n.into(),
                    None => continue,
                },
                None => default_subject.clone(),
            };
            if let Some(r) = &r {
                if described.insert(subject.clone(), ()).is_none() {
                    self.emit(r.clone(), csvw("describes"), subject.clone())?;
                }
            }
            let p_str = cell
                .property_url
                .as_deref()
                .unwrap_or(&at.default_properties[i]);
            let Some(p) = self.node(p_str, file) else {
                continue;
            };
            if let Some(v) = &cell.value_url {
                if let Some(o) = self.node(v, file) {
                    self.emit(subject, p, o)?;
                }
                continue;
            }
            match &cell.value {
                CellValue::Null => {}
                CellValue::One(v) => self.emit(subject, p, Self::literal(v))?,
                CellValue::List(vs) if col.props.ordered => {
                    if vs.is_empty() {
                        self.emit(subject, p, iri(&format!("{RDF}nil")))?;
                        continue;
                    }
                    let nodes: Vec<BlankNode> = vs.iter().map(|_| BlankNode::default()).collect();
                    self.emit(subject, p, nodes[0].clone())?;
                    for (k, v) in vs.iter().enumerate() {
                        self.emit(
                            nodes[k].clone(),
                            iri(&format!("{RDF}first")),
                            Self::literal(v),
                        )?;
                        let rest: Term = match nodes.get(k + 1) {
                            Some(n) => n.clone().into(),
                            None => iri(&format!("{RDF}nil")).into(),
                        };
                        self.emit(nodes[k].clone(), iri(&format!("{RDF}rest")), rest)?;
                    }
                }
                CellValue::List(vs) => {
                    for v in vs {
                        self.emit(subject.clone(), p.clone(), Self::literal(v))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn end_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        if self.minimal || at.table.suppress_output {
            return Ok(());
        }
        if let Some(t) = self.table.clone() {
            for c in &at.comments {
                self.emit(
                    t.clone(),
                    iri("http://www.w3.org/2000/01/rdf-schema#comment"),
                    Literal::new_simple_literal(c),
                )?;
            }
        }
        Ok(())
    }

    fn end_group(&mut self, _group: &TableGroup) -> Result<()> {
        Ok(())
    }
}
