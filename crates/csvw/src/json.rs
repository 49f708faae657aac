//! Generating JSON from tabular data (csv2json), standard and minimal modes. Output streams:
//! each row is written as soon as it is annotated.

use crate::context::compact;
use crate::diag::Result;
use crate::metadata::TableGroup;
use crate::table::{percent_decode, AnnotatedTable, CellValue, Row, Sink, Value, ValueKind};
use serde_json::{Map, Value as Json};
use std::io::Write;

/// csv2json as a table [`Sink`].
pub struct JsonConverter<W: Write> {
    pub minimal: bool,
    out: W,
    pretty: bool,
    first_table: bool,
    first_row: bool,
    in_table: bool,
}

impl<W: Write> JsonConverter<W> {
    pub fn new(out: W, minimal: bool, pretty: bool) -> Self {
        JsonConverter {
            minimal,
            out,
            pretty,
            first_table: true,
            first_row: true,
            in_table: false,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_value(&mut self, v: &Json) -> Result<()> {
        if self.pretty {
            serde_json::to_writer_pretty(&mut self.out, v).map_err(std::io::Error::from)?;
        } else {
            serde_json::to_writer(&mut self.out, v).map_err(std::io::Error::from)?;
        }
        Ok(())
    }

    fn write_key(&mut self, k: &str) -> Result<()> {
        serde_json::to_writer(&mut self.out, k).map_err(std::io::Error::from)?;
        self.out.write_all(b":")?;
        Ok(())
    }
}

/// JSON-LD to JSON for notes and common properties (csv2json §5).
pub fn annotation_to_json(v: &Json) -> Json {
    match v {
        Json::Array(a) => Json::Array(a.iter().map(annotation_to_json).collect()),
        Json::Object(o) if o.contains_key("@value") => o["@value"].clone(),
        Json::Object(o) if o.len() == 1 && o.contains_key("@id") => o["@id"].clone(),
        Json::Object(o) => {
            let mut m = Map::new();
            for (k, val) in o {
                if k == "@type" {
                    let t = match val {
                        Json::String(s) => Json::String(compact(s)),
                        Json::Array(a) => Json::Array(
                            a.iter()
                                .map(|x| match x {
                                    Json::String(s) => Json::String(compact(s)),
                                    other => other.clone(),
                                })
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    m.insert(k.clone(), t);
                } else {
                    m.insert(k.clone(), annotation_to_json(val));
                }
            }
            Json::Object(m)
        }
        other => other.clone(),
    }
}

/// A cell value in JSON (csv2json §4.5).
pub fn value_to_json(v: &Value) -> Json {
    match &v.kind {
        ValueKind::Typed {
            base,
            boolean: Some(b),
            ..
        } if *base == crate::datatype::Base::Boolean => Json::Bool(*b),
        ValueKind::Typed { base, .. } if base.is_json_number() => {
            let lex = v.lexical.trim_start_matches('+');
            if base.is_integer() {
                if let Ok(i) = lex.parse::<i64>() {
                    return Json::from(i);
                }
                if let Ok(u) = lex.parse::<u64>() {
                    return Json::from(u);
                }
            }
            match lex.parse::<f64>() {
                Ok(f) if f.is_finite() => serde_json::Number::from_f64(f)
                    .map(Json::Number)
                    .unwrap_or_else(|| Json::String(v.lexical.clone())),
                _ => Json::String(v.lexical.clone()),
            }
        }
        _ => Json::String(v.lexical.clone()),
    }
}

fn insert_merged(obj: &mut Map<String, Json>, key: String, value: Json) {
    match obj.get_mut(&key) {
        None => {
            obj.insert(key, value);
        }
        Some(existing) => {
            let mut items = match std::mem::take(existing) {
                Json::Array(a) => a,
                other => vec![other],
            };
            match value {
                Json::Array(a) => items.extend(a),
                other => items.push(other),
            }
            *existing = Json::Array(items);
        }
    }
}

/// The objects a row describes, nested by value URLs (csv2json §4.3–4.4).
pub fn row_objects(at: &AnnotatedTable<'_>, row: &Row) -> Vec<Json> {
    // Subjects in order of first appearance.
    let mut subjects: Vec<Option<&str>> = Vec::new();
    let mut cells_of: Vec<Vec<usize>> = Vec::new();
    for i in 0..row.cells.len() {
        if at.columns[i].suppress_output {
            continue;
        }
        let about = at.url(row, i, 0);
        let idx = match subjects.iter().position(|s| *s == about) {
            Some(k) => k,
            None => {
                subjects.push(about);
                cells_of.push(Vec::new());
                subjects.len() - 1
            }
        };
        cells_of[idx].push(i);
    }
    let mut objects: Vec<Option<Map<String, Json>>> = Vec::new();
    let mut links: Vec<Vec<(String, String)>> = Vec::new();
    for (k, subject) in subjects.iter().enumerate() {
        let has_value = cells_of[k].iter().any(|&i| {
            let c = &row.cells[i];
            at.url(row, i, 2).is_some() || !matches!(c.value, CellValue::Null)
        });
        if !has_value {
            objects.push(None);
            links.push(Vec::new());
            continue;
        }
        let mut obj = Map::new();
        if let Some(id) = subject {
            obj.insert("@id".into(), Json::String(id.to_string()));
        }
        let mut my_links = Vec::new();
        for &i in &cells_of[k] {
            let cell = &row.cells[i];
            let name = match at.url(row, i, 1) {
                Some(p) => compact(p),
                None => percent_decode(&at.columns[i].name),
            };
            if let Some(v) = at.url(row, i, 2) {
                let v = if name == "@type" {
                    compact(v)
                } else {
                    v.to_string()
                };
                my_links.push((name.clone(), v.clone()));
                insert_merged(&mut obj, name, Json::String(v));
            } else {
                match &cell.value {
                    CellValue::Null => {}
                    CellValue::List(vs) if vs.is_empty() => {}
                    CellValue::List(vs) => insert_merged(
                        &mut obj,
                        name,
                        Json::Array(vs.iter().map(value_to_json).collect()),
                    ),
                    CellValue::One(v) => insert_merged(&mut obj, name, value_to_json(v)),
                }
            }
        }
        objects.push(Some(obj));
        links.push(my_links);
    }
    // Value URLs that occur once in the row.
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for i in 0..row.cells.len() {
        if let Some(v) = at.url(row, i, 2) {
            *counts.entry(v).or_default() += 1;
        }
    }
    let n = objects.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut child_edges: Vec<Vec<(String, String, usize)>> = vec![Vec::new(); n];
    let root_of = |parent: &[Option<usize>], mut i: usize| {
        let mut guard = 0;
        while let Some(p) = parent[i] {
            i = p;
            guard += 1;
            if guard > n {
                break;
            }
        }
        i
    };
    for i in 0..n {
        if objects[i].is_none() {
            continue;
        }
        for (key, vurl) in links[i].clone() {
            if counts.get(vurl.as_str()) != Some(&1) {
                continue;
            }
            let Some(j) = (0..n)
                .find(|&j| j != i && objects[j].is_some() && subjects[j] == Some(vurl.as_str()))
            else {
                continue;
            };
            if root_of(&parent, i) == j || parent[j].is_some() {
                continue;
            }
            parent[j] = Some(i);
            child_edges[i].push((key, vurl, j));
        }
    }
    fn build(
        i: usize,
        objects: &mut Vec<Option<Map<String, Json>>>,
        child_edges: &[Vec<(String, String, usize)>],
    ) -> Json {
        let mut obj = objects[i].take().unwrap_or_default();
        for (key, vurl, j) in &child_edges[i] {
            let nested = build(*j, objects, child_edges);
            if let Some(slot) = obj.get_mut(key) {
                match slot {
                    Json::String(s) if s == vurl => *slot = nested,
                    Json::Array(a) => {
                        if let Some(pos) = a.iter().position(|x| x.as_str() == Some(vurl.as_str()))
                        {
                            a[pos] = nested;
                        }
                    }
                    _ => {}
                }
            }
        }
        Json::Object(obj)
    }
    let mut out = Vec::new();
    for i in 0..n {
        if parent[i].is_none() && objects[i].is_some() {
            out.push(build(i, &mut objects, &child_edges));
        }
    }
    out
}

impl<W: Write> Sink for JsonConverter<W> {
    fn start_group(&mut self, group: &TableGroup) -> Result<()> {
        if self.minimal {
            self.out.write_all(b"[")?;
            return Ok(());
        }
        self.out.write_all(b"{")?;
        if let Some(id) = &group.id {
            self.write_key("@id")?;
            self.write_value(&Json::String(id.clone()))?;
            self.out.write_all(b",")?;
        }
        for (k, v) in &group.annotations {
            self.write_key(k)?;
            self.write_value(&annotation_to_json(v))?;
            self.out.write_all(b",")?;
        }
        self.write_key("tables")?;
        self.out.write_all(b"[")?;
        Ok(())
    }

    fn start_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        self.in_table = !at.table.suppress_output;
        if self.minimal || !self.in_table {
            return Ok(());
        }
        if !self.first_table {
            self.out.write_all(b",")?;
        }
        self.first_table = false;
        self.first_row = true;
        self.out.write_all(b"{")?;
        if let Some(id) = &at.table.id {
            self.write_key("@id")?;
            self.write_value(&Json::String(id.clone()))?;
            self.out.write_all(b",")?;
        }
        self.write_key("url")?;
        self.write_value(&Json::String(at.table.url.to_string()))?;
        for (k, v) in &at.table.annotations {
            self.out.write_all(b",")?;
            self.write_key(k)?;
            self.write_value(&annotation_to_json(v))?;
        }
        self.out.write_all(b",")?;
        self.write_key("row")?;
        self.out.write_all(b"[")?;
        Ok(())
    }

    fn row(&mut self, at: &AnnotatedTable<'_>, row: &Row) -> Result<()> {
        if !self.in_table {
            return Ok(());
        }
        let objects = row_objects(at, row);
        if self.minimal {
            for o in objects {
                if !self.first_row {
                    self.out.write_all(b",")?;
                }
                self.first_row = false;
                self.write_value(&o)?;
            }
            return Ok(());
        }
        let mut r = Map::new();
        let mut u = at.table.url.clone();
        u.set_fragment(Some(&format!("row={}", row.source_number)));
        r.insert("url".into(), Json::String(u.to_string()));
        r.insert("rownum".into(), Json::from(row.number));
        if !row.titles.is_empty() {
            let t: Vec<Json> = row
                .titles
                .iter()
                .map(|(t, _)| Json::String(t.clone()))
                .collect();
            r.insert(
                "titles".into(),
                if t.len() == 1 {
                    t[0].clone()
                } else {
                    Json::Array(t)
                },
            );
        }
        r.insert("describes".into(), Json::Array(objects));
        if !self.first_row {
            self.out.write_all(b",")?;
        }
        self.first_row = false;
        self.write_value(&Json::Object(r))
    }

    fn end_table(&mut self, at: &AnnotatedTable<'_>) -> Result<()> {
        if self.minimal || !self.in_table {
            return Ok(());
        }
        self.out.write_all(b"]")?;
        if !at.comments.is_empty() {
            self.out.write_all(b",")?;
            self.write_key("rdfs:comment")?;
            let c: Vec<Json> = at
                .comments
                .iter()
                .map(|c| Json::String(c.clone()))
                .collect();
            self.write_value(&Json::Array(c))?;
        }
        self.out.write_all(b"}")?;
        Ok(())
    }

    fn end_group(&mut self, _group: &TableGroup) -> Result<()> {
        if self.minimal {
            self.out.write_all(b"]")?;
        } else {
            self.out.write_all(b"]}")?;
        }
        self.out.flush()?;
        Ok(())
    }
}
