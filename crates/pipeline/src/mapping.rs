//! The mapping of a pipeline, built once: from the pipeline's CSVW metadata (read as the csvw
//! engine reads it) or from a council template, with the pipeline's column overrides. It owns
//! the columns, their titles, the tidy rules, the link rules and the computed columns in one
//! ordered list; the tidy, gate, link and convert stages read it and none re-derives it.

use crate::config::{ColumnOverride, MappingSource, Personal, Pipeline, DEFAULT_LINK_PROPERTY};
use crate::report::Problem;
use csvw::fetch::{Fetcher, Resource};
use fivestar_council::template::{self, ComputedColumn, Link};
use fivestar_store::Layout;
use fivestar_tidy::{ColumnRule, ValueKind};
use serde_json::Value;

/// A column of the source as the mapping describes it.
#[derive(Debug, Clone)]
pub struct MappedColumn {
    /// The metadata's column name (CSVW's: given, or from the first title, or `_col.N`).
    pub name: String,
    /// Every title, any language.
    pub titles: Vec<String>,
    /// How tidy finds and reads it; `rule.name` is the clean CSV's header.
    pub rule: ColumnRule,
    pub personal: Personal,
    /// Some values may name people among organisations: the screen redacts those that look
    /// like a person's name.
    pub may_name_individuals: bool,
    /// Every value names a person: blocked until the pipeline allows or redacts the column.
    pub individuals: bool,
    /// Its link rules: each makes a computed column `{name}_{kind}`.
    pub links: Vec<Link>,
}

impl MappedColumn {
    /// Tidy rewrites its values into XSD form (so a datatype `format` no longer applies).
    pub fn normalised(&self) -> bool {
        self.rule.kind != ValueKind::Text
    }
}

/// The mapping of one pipeline.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The table's description (one table; group properties folded in; no dialect).
    metadata: Value,
    pub columns: Vec<MappedColumn>,
    /// The computed columns, in the clean table's order, after `columns`.
    pub computed: Vec<ComputedColumn>,
    /// The columns that identify a row (indices into `columns`), as alternatives in order of
    /// preference; the link stage builds the row key from the first the file has.
    pub key: Vec<Vec<usize>>,
    /// The key is the pipeline's own (`[rules] key`): a duplicate or missing value is an
    /// error, where a template's key falls back to a hash of the row for that row.
    pub key_declared: bool,
    /// The metadata describes the computed columns already (a template's does).
    computed_described: bool,
    /// The easting and northing columns (a template's `geo`).
    pub geo: Option<(usize, usize)>,
    /// The column of each row's coordinate reference system, when the template has one.
    pub geo_crs: Option<usize>,
    /// The template, when the mapping is one (its wide layout is read before tidy).
    pub template: Option<fivestar_council::Template>,
    /// Where supplier keys go: `{base}/id/council/{GSS}/supplier/` (one URI per supplier across
    /// a council's datasets), or the dataset's own `{base}/id/{dataset}/supplier/`.
    pub supplier_base: String,
    pub dataset: String,
    /// The pipeline's publisher (an IRI): the council of rows whose own council value is
    /// empty or links to no council.
    pub publisher: Option<String>,
    /// The base IRI, for expanding `fs:` terms.
    base: String,
}

fn fail(rule: &str, message: impl Into<String>) -> Box<Problem> {
    Box::new(Problem::error(rule, message))
}

impl Mapping {
    /// The pipeline's mapping, with its overrides, for the site `layout` describes.
    pub fn load(pipeline: &Pipeline, layout: &Layout) -> Result<Mapping, Box<Problem>> {
        let base = layout.base();
        let mapping = match &pipeline.mapping {
            MappingSource::Metadata(p) => Self::from_metadata(pipeline, p, base),
            MappingSource::Template(t) => Self::from_template(pipeline, t, base),
        }?;
        Ok(Mapping {
            supplier_base: layout.suppliers(pipeline.publisher_code.as_deref(), &pipeline.id),
            publisher: pipeline.publisher.clone(),
            ..mapping
        })
    }

    /// The figures the template charts on the dataset's page, with their prefixes declared.
    pub fn figures(&self) -> Vec<fivestar_store::figures::FigureQuery> {
        self.template
            .iter()
            .flat_map(|t| figures_of(t, &self.base))
            .collect()
    }

    /// The template's summaries, their properties expanded for this site.
    pub fn summaries(&self) -> Vec<fivestar_store::summary::SummarySpec> {
        self.template
            .iter()
            .flat_map(|t| summaries_of(t, &self.base))
            .collect()
    }

    /// How the release's rows are identified (for the changes between releases): the key
    /// column, the published columns, and the row IRI with `{+row_key}`, resolved against
    /// `data_base` (`{base}/id/{dataset}/`). None when rows have no key, or the metadata's
    /// `aboutUrl` does not name it.
    pub fn identity(&self, data_base: &str) -> Option<fivestar_store::changes::Identity> {
        let key = format!("{{+{}}}", template::ROW_KEY);
        let about = self
            .metadata
            .get("tableSchema")
            .and_then(|t| t.get("aboutUrl"))
            .and_then(Value::as_str)?;
        if self.key.is_empty() || !about.contains(&key) {
            return None;
        }
        // A relative template is joined as a path (its braces are not a URL's).
        let row_iri = if about.contains("://") {
            about.to_string()
        } else {
            format!("{data_base}{about}")
        };
        Some(fivestar_store::changes::Identity {
            key_column: template::ROW_KEY.to_string(),
            columns: self.columns.iter().map(|c| c.rule.name.clone()).collect(),
            row_iri,
            noun: self.template.as_ref().and_then(|t| t.noun.clone()),
        })
    }

    /// The rules tidy maps and reads the source's columns by.
    pub fn tidy_rules(&self) -> Vec<ColumnRule> {
        self.columns.iter().map(|c| c.rule.clone()).collect()
    }

    /// The column named or titled `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name || c.titles.iter().any(|t| t == name))
    }

    /// The source's header of mapped column `k`, that problems are reported against (its
    /// title, the clean table's header, when the source lacked the column).
    pub fn source_header(&self, table: &fivestar_tidy::Table, k: usize) -> String {
        table
            .source_columns
            .get(k)
            .cloned()
            .flatten()
            .unwrap_or_else(|| self.columns[k].rule.name.clone())
    }

    /// The metadata for the clean CSV: the mapping's, pointed at the clean file, without a
    /// dialect (the clean CSV is RFC 4180 with one header row), without the `format` of columns
    /// whose values tidy normalised (they are now in XSD form), with the clean header first
    /// among each column's titles and the computed columns described.
    pub fn clean_metadata(&self, csv_name: &str) -> Value {
        let mut m = self.metadata.clone();
        if let Some(o) = m.as_object_mut() {
            o.insert("url".into(), Value::String(csv_name.into()));
            if !o.contains_key("@context") {
                o.insert("@context".into(), "http://www.w3.org/ns/csvw".into());
            }
        }
        let Some(cols) = m
            .get_mut("tableSchema")
            .and_then(|s| s.get_mut("columns"))
            .and_then(|c| c.as_array_mut())
        else {
            return m;
        };
        let real = cols.iter_mut().filter(|c| !is_virtual(c));
        for (c, mapped) in real.zip(&self.columns) {
            if mapped.normalised() {
                if let Some(dt) = c.get_mut("datatype").and_then(|d| d.as_object_mut()) {
                    dt.remove("format");
                }
            }
            if let Some(o) = c.as_object_mut() {
                let header = &mapped.rule.name;
                let titles = std::iter::once(header)
                    .chain(mapped.titles.iter().filter(|t| *t != header))
                    .map(|t| Value::String(t.clone()))
                    .collect();
                o.insert("titles".into(), Value::Array(titles));
            }
        }
        if !self.computed_described {
            // After the mapping's real columns, before its virtual ones.
            let at = cols.iter().position(is_virtual).unwrap_or(cols.len());
            for (i, c) in self.computed.iter().enumerate() {
                cols.insert(at + i, c.spec("", &self.base));
            }
        }
        m
    }

    fn from_metadata(
        pipeline: &Pipeline,
        path: &std::path::Path,
        base: &str,
    ) -> Result<Mapping, Box<Problem>> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| fail("metadata", format!("{shown}: {e}")))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| fail("metadata", format!("{shown}: not JSON: {e}")))?;
        let mut table = match doc.get("tables") {
            Some(Value::Array(tables)) if tables.len() == 1 => {
                let mut t = tables[0].clone();
                if let (Some(to), Some(go)) = (t.as_object_mut(), doc.as_object()) {
                    for (k, v) in go {
                        if k != "tables" && k != "dialect" && !to.contains_key(k) {
                            to.insert(k.clone(), v.clone());
                        }
                    }
                }
                t
            }
            Some(_) => {
                return Err(fail(
                    "metadata",
                    format!("{shown}: a pipeline maps one table; this metadata describes several"),
                ))
            }
            None => doc,
        };
        let obj = table
            .as_object_mut()
            .ok_or_else(|| fail("metadata", format!("{shown}: not a JSON object")))?;
        obj.remove("dialect");
        let has_columns = obj
            .get("tableSchema")
            .and_then(|s| s.as_object())
            .map(|s| s.get("columns").is_some_and(Value::is_array));
        match has_columns {
            None => {
                return Err(fail(
                    "metadata",
                    format!("{shown}: the mapping needs an inline `tableSchema` object"),
                ))
            }
            Some(false) => {
                return Err(fail(
                    "metadata",
                    format!("{shown}: `tableSchema` has no `columns`"),
                ))
            }
            Some(true) => {}
        }
        // The columns as the csvw engine will read them: names (given, from the first title,
        // or `_col.N`), titles in every language, datatypes and `required` resolved.
        let described = described_columns(&table, path)
            .map_err(|e| fail("metadata", format!("{shown}: {e}")))?;
        let mut columns = Vec::new();
        let mut used = Vec::new();
        for (name, titles, datatype, required) in described {
            let over = find_override(pipeline, std::iter::once(&name).chain(&titles), &mut used);
            let header = titles.first().cloned().unwrap_or_else(|| name.clone());
            // The preference order when several headers fit: the titles, the pipeline's
            // aliases, the name.
            let mut aliases = titles.clone();
            aliases.extend(over.aliases.iter().cloned());
            aliases.push(name.clone());
            let links = override_link(&over).into_iter().collect();
            columns.push(MappedColumn {
                rule: ColumnRule {
                    name: header,
                    aliases,
                    kind: over.format.unwrap_or(ValueKind::of_datatype(&datatype)),
                    date_order: over.date_order,
                    required: required || pipeline.rules.required.contains(&name),
                    optional: false,
                    source: over.source.clone(),
                },
                name,
                titles,
                personal: over.personal,
                may_name_individuals: over.may_name_individuals,
                individuals: over.individuals,
                links,
            });
        }
        check_overrides_and_rules(pipeline, &columns, &used)?;
        let key = declared_key(pipeline, &columns);
        let computed = template::computed_columns(
            !key.is_empty(),
            columns
                .iter()
                .map(|c| (c.name.as_str(), c.links.as_slice())),
            false,
            &[],
        );
        Ok(Mapping {
            metadata: table,
            key_declared: !key.is_empty(),
            key,
            columns,
            computed,
            computed_described: false,
            geo: None,
            geo_crs: None,
            template: None,
            supplier_base: String::new(),
            dataset: pipeline.id.clone(),
            publisher: None,
            base: base.to_string(),
        })
    }

    fn from_template(pipeline: &Pipeline, id: &str, base: &str) -> Result<Mapping, Box<Problem>> {
        let mut template = fivestar_council::Template::get(id).map_err(|e| {
            fail(
                "template",
                format!("{}: key `template`: {e}", pipeline.file.display()),
            )
        })?;
        let mut columns = Vec::new();
        let mut used = Vec::new();
        for c in template.columns.iter_mut() {
            let over = find_override(pipeline, [&c.name, &c.title], &mut used);
            c.links.extend(override_link(&over));
            // The preference order when several headers fit: the title, the pipeline's
            // aliases, the template's (in its order of preference), the name.
            let mut aliases = over.aliases.clone();
            aliases.extend(c.aliases.iter().cloned());
            aliases.push(c.name.clone());
            columns.push(MappedColumn {
                name: c.name.clone(),
                titles: vec![c.title.clone()],
                rule: ColumnRule {
                    name: c.title.clone(),
                    aliases,
                    kind: over.format.unwrap_or(c.format),
                    date_order: over.date_order,
                    required: pipeline.rules.required.contains(&c.name),
                    optional: !c.core && !c.required,
                    source: over.source.clone(),
                },
                personal: over.personal,
                may_name_individuals: c.may_name_individuals || over.may_name_individuals,
                individuals: c.individuals || over.individuals,
                links: c.links.clone(),
            });
        }
        check_overrides_and_rules(pipeline, &columns, &used)?;
        let declared = declared_key(pipeline, &columns);
        let key_declared = !declared.is_empty();
        let key = if key_declared {
            declared
        } else {
            template
                .key
                .iter()
                .map(|alt| {
                    alt.iter()
                        .filter_map(|n| columns.iter().position(|c| &c.name == n))
                        .collect()
                })
                .collect()
        };
        if key_declared && template.key.is_empty() {
            // The template's rows are numbered: the pipeline's key has nowhere to go.
            return Err(fail(
                "pipeline",
                format!(
                    "{}: key `rules.key`: template {:?} has no row key to replace",
                    pipeline.file.display(),
                    template.id
                ),
            ));
        }
        let mut metadata = template.metadata(base);
        if let Some(o) = metadata.as_object_mut() {
            o.insert("dc:title".into(), pipeline.title.clone().into());
            if !pipeline.description.is_empty() {
                o.insert("dc:description".into(), pipeline.description.clone().into());
            }
            if let Some(p) = &pipeline.publisher {
                o.insert("dc:publisher".into(), serde_json::json!({"@id": p}));
            }
            o.insert(
                "dc:license".into(),
                serde_json::json!({"@id": pipeline.licence}),
            );
        }
        let geo = template.geo.as_ref().and_then(|g| {
            let e = template.columns.iter().position(|c| c.name == g.easting)?;
            let n = template.columns.iter().position(|c| c.name == g.northing)?;
            Some((e, n))
        });
        let geo_crs = template
            .geo
            .as_ref()
            .and_then(|g| g.crs.as_ref())
            .and_then(|c| template.columns.iter().position(|x| &x.name == c));
        Ok(Mapping {
            metadata,
            columns,
            computed: template.computed_columns(),
            computed_described: true,
            key,
            key_declared,
            geo,
            geo_crs,
            template: Some(template),
            supplier_base: String::new(),
            dataset: pipeline.id.clone(),
            publisher: None,
            base: base.to_string(),
        })
    }
}

/// The pipeline's `[rules] key` as one alternative of column indices (empty: none).
fn declared_key(pipeline: &Pipeline, columns: &[MappedColumn]) -> Vec<Vec<usize>> {
    let k: Vec<usize> = pipeline
        .rules
        .key
        .iter()
        .filter_map(|n| {
            columns
                .iter()
                .position(|c| &c.name == n || c.titles.contains(n))
        })
        .collect();
    if k.is_empty() {
        Vec::new()
    } else {
        vec![k]
    }
}

/// The pipeline's `[columns.KEY]` for the first of `keys` it has (noted in `used`), or none.
fn find_override<'a>(
    pipeline: &Pipeline,
    keys: impl IntoIterator<Item = &'a String>,
    used: &mut Vec<String>,
) -> ColumnOverride {
    for k in keys {
        if let Some(o) = pipeline.columns.get(k) {
            used.push(k.clone());
            return o.clone();
        }
    }
    ColumnOverride::default()
}

/// The link rule a column override asks for.
fn override_link(over: &ColumnOverride) -> Option<Link> {
    over.link.map(|kind| Link {
        kind,
        property: over
            .link_property
            .clone()
            .unwrap_or_else(|| DEFAULT_LINK_PROPERTY.to_string()),
        about: None,
    })
}

fn is_virtual(c: &Value) -> bool {
    c.get("virtual").and_then(Value::as_bool) == Some(true)
}

/// The real (not virtual) columns of one table's description as the csvw engine reads them:
/// (name, titles, datatype name, required).
type Described = (String, Vec<String>, String, bool);

fn described_columns(table: &Value, path: &std::path::Path) -> Result<Vec<Described>, String> {
    let mut doc = table.clone();
    if let Some(o) = doc.as_object_mut() {
        // The metadata as a document on its own: a table needs a `url` (the clean CSV's is
        // set later) and the CSVW context.
        o.entry("url").or_insert_with(|| "table.csv".into());
        o.entry("@context")
            .or_insert_with(|| "http://www.w3.org/ns/csvw".into());
    }
    let url = crate::web::file_url(path)?;
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let one = OneDocument(url.clone(), bytes);
    let (group, _) = csvw::metadata(&url, &one).map_err(|e| e.to_string())?;
    let table = group
        .tables
        .into_iter()
        .next()
        .ok_or("the metadata describes no table")?;
    Ok(table
        .schema
        .columns
        .into_iter()
        .filter(|c| !c.virtual_)
        .map(|c| {
            let mut titles: Vec<String> = c.titles.into_iter().map(|(_lang, t)| t).collect();
            // The title the name came from (the first in the default language) heads the list:
            // it is the clean CSV's header.
            if !c.name_given {
                let from = csvw::table::percent_decode(&c.name);
                if let Some(i) = titles.iter().position(|t| *t == from) {
                    let t = titles.remove(i);
                    titles.insert(0, t);
                }
            }
            let datatype = c.props.datatype.base.name().to_string();
            (c.name, titles, datatype, c.props.required)
        })
        .collect())
}

/// One document in memory at one URL; nothing else.
struct OneDocument(url::Url, Vec<u8>);

impl Fetcher for OneDocument {
    fn fetch(&self, url: &url::Url) -> Result<Option<Resource>, String> {
        Ok((*url == self.0).then(|| Resource {
            body: Box::new(std::io::Cursor::new(self.1.clone())),
            content_type: None,
            links: Vec::new(),
            content_language: None,
        }))
    }
}

fn check_overrides_and_rules(
    pipeline: &Pipeline,
    columns: &[MappedColumn],
    used_overrides: &[String],
) -> Result<(), Box<Problem>> {
    for k in pipeline.columns.keys() {
        if !used_overrides.contains(k) {
            return Err(fail(
                "pipeline",
                format!(
                    "{}: key `columns.{k}`: the mapping has no column named or titled {k:?} (it has {})",
                    pipeline.file.display(),
                    columns.iter().map(|c| format!("{:?}", c.name)).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for r in pipeline
        .rules
        .unique
        .iter()
        .chain(pipeline.rules.required.iter())
        .chain(pipeline.rules.key.iter())
    {
        if !columns.iter().any(|c| &c.name == r || c.titles.contains(r)) {
            return Err(fail(
                "pipeline",
                format!(
                    "{}: key `rules`: no column {r:?} in the mapping",
                    pipeline.file.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A template's figures, with their prefixes declared for the site at `base`.
pub fn figures_of(
    t: &fivestar_council::Template,
    base: &str,
) -> Vec<fivestar_store::figures::FigureQuery> {
    t.figures
        .iter()
        .map(|f| fivestar_store::figures::FigureQuery {
            id: f.id.clone(),
            title: f.title.clone(),
            chart: f.chart.clone(),
            money: f.money,
            query: f.full_query(base),
        })
        .collect()
}

/// A template's summaries, their properties expanded for the site at `base`.
pub fn summaries_of(
    t: &fivestar_council::Template,
    base: &str,
) -> Vec<fivestar_store::summary::SummarySpec> {
    let expand = |p: &String| template::expand(p, base);
    t.summaries
        .iter()
        .map(|s| fivestar_store::summary::SummarySpec {
            id: s.id.clone(),
            title: s.title.clone(),
            measure: expand(&s.measure),
            dimensions: s.dimensions.iter().map(expand).collect(),
            optional: s.optional.iter().map(expand).collect(),
            labels: s.labels.iter().map(expand).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_figure_is_a_limited_select_query() {
        for t in fivestar_council::Template::all().unwrap() {
            for f in &t.figures {
                // A figure reads only summaries its template computes.
                let mut rest = f.query.as_str();
                while let Some(at) = rest.find("{summary#") {
                    let id = &rest[at + "{summary#".len()..];
                    let id = &id[..id.find('}').unwrap_or(0)];
                    assert!(
                        t.summaries.iter().any(|s| s.id == id),
                        "{}/{}: no summary {id:?}",
                        t.id,
                        f.id
                    );
                    rest = &rest[at + 1..];
                }
                let q = fivestar_store::figures::holes(
                    &f.full_query("http://x.org"),
                    "http://x.org/graph/d/r",
                    "http://x.org/graph/d/r/summary",
                );
                assert!(!q.contains("{summary"), "{}/{}: {q}", t.id, f.id);
                let parsed = spargebra::SparqlParser::new()
                    .parse_query(&q)
                    .unwrap_or_else(|e| panic!("{}/{}: {e}\n{q}", t.id, f.id));
                assert!(
                    matches!(parsed, spargebra::Query::Select { .. }),
                    "{}/{}",
                    t.id,
                    f.id
                );
                assert!(["columns", "bars", "points", "none", "search"].contains(&f.chart.as_str()));
                assert!(q.contains("LIMIT"), "{}/{}: no LIMIT", t.id, f.id);
            }
            for s in &t.summaries {
                for p in std::iter::once(&s.measure)
                    .chain(&s.dimensions)
                    .chain(&s.labels)
                {
                    let iri = template::expand(p, "http://x.org");
                    assert!(iri.starts_with("http"), "{}/{}: {p}", t.id, s.id);
                }
                assert!(
                    s.optional.iter().all(|o| s.dimensions.contains(o)),
                    "{}/{}: an optional property that is not a dimension",
                    t.id,
                    s.id
                );
            }
        }
    }
    use fivestar_council::template::Computed;

    fn pipeline(dir: &std::path::Path, mapping: &str, extra: &str) -> Pipeline {
        std::fs::write(dir.join("data.csv"), "a\n1\n").unwrap();
        let p = dir.join("p.toml");
        std::fs::write(
            &p,
            format!("id = \"d\"\ntitle = \"D\"\n{mapping}\n[source]\nurl = \"data.csv\"\n{extra}"),
        )
        .unwrap();
        Pipeline::load(&p).unwrap()
    }

    fn names(doc: &Value) -> Vec<String> {
        doc["tableSchema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !is_virtual(c))
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_template_column_with_a_link_is_one_place() {
        // premises-licences declares `service_type` with a `service` link in its TOML only:
        // the mapping's computed columns, the clean metadata and the link stage follow from it.
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(dir.path(), "template = \"premises-licences\"", "");
        let layout = Layout::new("http://x.org/", dir.path());
        let m = Mapping::load(&p, &layout).unwrap();
        let k = m.index("Service Type URI").unwrap();
        assert_eq!(m.columns[k].name, "service_type");
        let linked: Vec<&ComputedColumn> = m
            .computed
            .iter()
            .filter(
                |c| matches!(&c.what, Computed::Link { column, .. } if column == "service_type"),
            )
            .collect();
        assert_eq!(linked.len(), 1);
        assert_eq!(linked[0].name, "service_type_service");
        // The clean table's columns: the mapped ones, then the computed ones, in one order.
        let doc = m.clean_metadata("d.csv");
        let want: Vec<String> = m
            .columns
            .iter()
            .map(|c| c.name.clone())
            .chain(m.computed.iter().map(|c| c.name.clone()))
            .collect();
        assert_eq!(names(&doc), want);
        let spec = doc["tableSchema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "service_type_service")
            .unwrap();
        assert_eq!(spec["propertyUrl"], "http://x.org/def/fivestar#service");
        assert_eq!(spec["valueUrl"], "{+service_type_service}");
        assert_eq!(m.supplier_base, "http://x.org/id/d/supplier/");
    }

    #[test]
    fn metadata_columns_are_read_as_csvw_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.json"),
            r#"{"@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
                "url": "x.csv",
                "tableSchema": {"columns": [
                  {"name": "when", "titles": "Date", "datatype": {"base": "date", "format": "dd/MM/yyyy"}},
                  {"titles": {"en": ["Amount Paid", "Value"], "cy": "Swm"}, "datatype": "number"},
                  {"titles": "Supplier"},
                  {},
                  {"virtual": true, "propertyUrl": "rdf:type", "valueUrl": "http://x.org/T"}
                ]}}"#,
        )
        .unwrap();
        let p = pipeline(
            dir.path(),
            "metadata = \"m.json\"",
            "[columns.Supplier]\nlink = \"supplier\"\n",
        );
        let m = Mapping::load(&p, &Layout::new("http://x.org", dir.path())).unwrap();
        let got: Vec<(&str, ValueKind, &str)> = m
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.rule.kind, c.rule.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("when", ValueKind::Date, "Date"),
                ("Amount%20Paid", ValueKind::Amount, "Amount Paid"),
                ("Supplier", ValueKind::Text, "Supplier"),
                ("_col.4", ValueKind::Text, "_col.4"),
            ]
        );
        // Titles in every language are headers tidy may find.
        assert!(m.columns[1].titles.contains(&"Swm".to_string()));
        // The link column goes after the real columns and before the virtual one; the date's
        // format goes, as tidy writes dates in XSD form.
        let doc = m.clean_metadata("d.csv");
        let cols = doc["tableSchema"]["columns"].as_array().unwrap();
        assert_eq!(cols[4]["name"], "Supplier_supplier");
        assert_eq!(cols[5]["virtual"], true);
        assert!(cols[0]["datatype"].get("format").is_none());
        assert_eq!(doc["url"], "d.csv");
    }
}
