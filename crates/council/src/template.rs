//! Council templates: what a dataset councils publish looks like (its columns, the headers
//! councils give them, their UK value formats, which may name individuals, how they link) and
//! how it maps onto the shared vocabularies. A template compiles to CSVW metadata for the
//! clean table ([`Template::metadata`]); the rest is what tidy, the personal-data screen and the
//! link rules need.
//!
//! The templates live in `vocab/templates/{id}.toml` and are built into the binary.

use crate::links::LinkKind;
use fivestar_tidy::{normalize_header, ValueKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The template ids, in the order they are listed.
pub const TEMPLATE_IDS: &[&str] = &[
    "spend",
    "contracts",
    "tenders",
    "land-assets",
    "grants",
    "organisation-chart",
    "senior-salaries",
    "senior-salary-counts",
    "trade-union-facility-time",
    "parking-account",
    "parking-spaces",
    "fraud",
    "pay-multiple",
    "planning-applications",
    "premises-licences",
    "public-toilets",
    "car-parks",
];

const SOURCES: &[(&str, &str)] = &[
    ("spend", include_str!("../../../vocab/templates/spend.toml")),
    (
        "contracts",
        include_str!("../../../vocab/templates/contracts.toml"),
    ),
    (
        "tenders",
        include_str!("../../../vocab/templates/tenders.toml"),
    ),
    (
        "land-assets",
        include_str!("../../../vocab/templates/land-assets.toml"),
    ),
    (
        "grants",
        include_str!("../../../vocab/templates/grants.toml"),
    ),
    (
        "organisation-chart",
        include_str!("../../../vocab/templates/organisation-chart.toml"),
    ),
    (
        "senior-salaries",
        include_str!("../../../vocab/templates/senior-salaries.toml"),
    ),
    (
        "senior-salary-counts",
        include_str!("../../../vocab/templates/senior-salary-counts.toml"),
    ),
    (
        "trade-union-facility-time",
        include_str!("../../../vocab/templates/trade-union-facility-time.toml"),
    ),
    (
        "parking-account",
        include_str!("../../../vocab/templates/parking-account.toml"),
    ),
    (
        "parking-spaces",
        include_str!("../../../vocab/templates/parking-spaces.toml"),
    ),
    ("fraud", include_str!("../../../vocab/templates/fraud.toml")),
    (
        "pay-multiple",
        include_str!("../../../vocab/templates/pay-multiple.toml"),
    ),
    (
        "planning-applications",
        include_str!("../../../vocab/templates/planning-applications.toml"),
    ),
    (
        "premises-licences",
        include_str!("../../../vocab/templates/premises-licences.toml"),
    ),
    (
        "public-toilets",
        include_str!("../../../vocab/templates/public-toilets.toml"),
    ),
    (
        "car-parks",
        include_str!("../../../vocab/templates/car-parks.toml"),
    ),
];

/// Prefixes a template may use in `property`, `types` and link properties.
pub const PREFIXES: &[(&str, &str)] = &[
    ("payment", "http://reference.data.gov.uk/def/payment#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("org", "http://www.w3.org/ns/org#"),
    ("qb", "http://purl.org/linked-data/cube#"),
    ("geo", "http://www.w3.org/2003/01/geo/wgs84_pos#"),
    ("geosparql", "http://www.opengis.net/ont/geosparql#"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("schema", "http://schema.org/"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("prov", "http://www.w3.org/ns/prov#"),
    ("rov", "http://www.w3.org/ns/regorg#"),
    ("interval", "http://reference.data.gov.uk/def/intervals/"),
];

/// A link rule of a template column: the column's values become URIs (or normalised
/// identifiers) in a new column named `{column}_{kind}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub kind: LinkKind,
    /// The property the link is published with (prefixed or absolute).
    pub property: String,
    /// The subject, as a CSVW URI template relative to the dataset's IRIs (default: the row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// A column of a template.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The clean table's column name (lower case, underscores).
    pub name: String,
    /// The header the clean table gets (the Transparency Code's or the LGA schema's).
    pub title: String,
    /// Other headers councils use for it (matched case-, space- and punctuation-insensitively).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The UK value format tidy reads: text, amount, integer, date, datetime.
    #[serde(default)]
    pub format: ValueKind,
    /// The XSD datatype (default from `format`: string, decimal, integer, date, dateTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype: Option<String>,
    /// The property (prefixed or absolute; `fs:` is fivestar's own vocabulary).
    pub property: String,
    /// The subject, as a CSVW URI template (default: the row's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The value as a URI: a CSVW URI template relative to the dataset's IRIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_url: Option<String>,
    /// What it means: the comment of an `fs:` property.
    #[serde(default)]
    pub description: String,
    /// Every row must have a value (CSVW `required`).
    #[serde(default)]
    pub required: bool,
    /// A file of this kind always has the column: it weighs more when detecting the template.
    #[serde(default)]
    pub core: bool,
    /// Some values may name individuals among organisations (suppliers, grant recipients,
    /// licence holders): the screen redacts the values that look like a person's name.
    #[serde(default)]
    pub may_name_individuals: bool,
    /// Every value names or reaches a person (a post holder, a contact, a home address):
    /// publication is blocked until the pipeline allows or redacts the column.
    #[serde(default)]
    pub individuals: bool,
    /// An amount of money in pounds (pages show it as `£1,234.56`); other amounts are numbers.
    #[serde(default)]
    pub money: bool,
    #[serde(default)]
    pub links: Vec<Link>,
}

/// Easting and northing columns (OSGB36 National Grid, or WGS84 longitude and latitude where the
/// row's coordinate reference system says so), from which WGS84 latitude, longitude and a
/// GeoSPARQL WKT point are computed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Geo {
    pub easting: String,
    pub northing: String,
    /// The column naming each row's coordinate reference system (the LGA schemas'
    /// `CoordinateReferenceSystem`): WGS84 rows give longitude and latitude as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
}

/// How a template reads its wide layout (the `wide` module reads it).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wide {
    /// The column that identifies a wide row (the financial year).
    pub key: String,
    /// The column that receives each line item's header.
    pub item: String,
    /// Where a line item's value goes, by the words of its header: the first rule with a word
    /// in the header wins.
    #[serde(default)]
    pub values: Vec<WideValue>,
    /// Where the value of an item no rule takes goes.
    pub default: String,
    /// Words that say a header is one of this account's items: at least two item
    /// headers must have one, so that any table of yearly amounts is not taken for it.
    pub evidence: Vec<String>,
}

/// Line items whose header has one of `words` put their value in `column`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WideValue {
    pub column: String,
    pub words: Vec<String>,
}

/// A statement made about every row (a type, say): a CSVW virtual column.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub property: String,
    /// A URI (prefixed or absolute) or a URI template relative to the dataset.
    pub value: String,
}

/// A chart of a dataset's page: its query selects `?key`, optionally `?label`, `?value` and
/// optionally `?count` (or `?lat` and `?long` for a map), over `GRAPH {graph}`; prefixed names
/// may use [`PREFIXES`] and `fs:`, which are declared for it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    pub id: String,
    pub title: String,
    /// `columns` (in the query's order, such as months), `bars` (ranked), `points` (a map),
    /// `none` (kept for other pages, such as a council's, not drawn on the dataset's), or
    /// `search` (names for the release's search index: `?key`, `?label`, `?names`; the title
    /// says what kind of thing they name).
    pub chart: String,
    #[serde(default)]
    pub money: bool,
    pub query: String,
}

impl FigureSpec {
    /// The query with every prefix it may use declared, for the site at `base`.
    pub fn full_query(&self, base: &str) -> String {
        let mut q = String::new();
        for (p, iri) in PREFIXES {
            q.push_str(&format!("PREFIX {p}: <{iri}>\n"));
        }
        q.push_str(&format!("PREFIX fs: <{}>\n", expand("fs:", base)));
        q.push_str(&self.query);
        q
    }
}

/// A summary of a dataset's rows computed as they are published (the store's `summary`):
/// the sum of `measure` grouped by `dimensions`, kept as RDF Data Cube observations in the
/// release's summary graph, where figures read it as `{summary#id}`. Properties are prefixed
/// (see [`PREFIXES`]) or absolute.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SummarySpec {
    pub id: String,
    pub title: String,
    pub measure: String,
    pub dimensions: Vec<String>,
    /// Those of `dimensions` a row may lack: it is then counted without them.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Properties whose literal values on a dimension's values (IRIs) are copied into the
    /// summary graph beside the observations, such as the names of the suppliers paid:
    /// figures and SPARQL users read a summary's members and their names in one graph.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A council dataset template.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The standard it follows (the Transparency Code, an LGA/esd schema).
    pub conforms_to: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Each row's subject, a CSVW URI template relative to `{base}/id/{dataset}/`; it names
    /// the row's key as `{+row_key}` (see [`ROW_KEY`]) so that a row keeps its URI when the
    /// file is published again in another order.
    pub about: String,
    /// The columns that identify a row, as alternatives in order of preference: the first
    /// whose columns the file has is used (a pipeline's `[rules] key` replaces them).
    #[serde(default)]
    pub key: Vec<Vec<String>>,
    /// What a row is, singular and plural ("payment", "payments"), for summaries of changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noun: Option<(String, String)>,
    /// The row's types (prefixed or absolute).
    #[serde(default)]
    pub types: Vec<String>,
    /// How a row is titled, published as its `rdfs:label`: text with `{column}` holes, each
    /// value read as people read it (`£28,182.22`, `30 January 2024`). A hole with no value is
    /// left out with the text before it. Templates whose rows have a name of their own have
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    /// How files in the wide layout (one row per year, one column per line item) are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wide: Option<Wide>,
    #[serde(default)]
    pub statements: Vec<Statement>,
    /// What the dataset's page charts: SPARQL over the release's graph, computed when it is
    /// published (the store's `figures`).
    #[serde(default)]
    pub figures: Vec<FigureSpec>,
    /// What is summed while a release is published, for the figures and for SPARQL users.
    #[serde(default)]
    pub summaries: Vec<SummarySpec>,
    /// Normalised header (title, alias or name) → column index, built when templates load.
    #[serde(skip)]
    pub(crate) headers_index: std::collections::HashMap<String, usize>,
}

/// Expands `prefix:local` with [`PREFIXES`] (and `fs:` to `{base}/def/fivestar#`); other
/// values are returned as they are.
pub fn expand(term: &str, base: &str) -> String {
    if let Some(local) = term.strip_prefix("fs:") {
        return format!(
            "{}{}#{local}",
            base.trim_end_matches('/'),
            fivestar_site::OWN_TERMS_PATH
        );
    }
    if let Some((p, local)) = term.split_once(':') {
        if let Some((_, ns)) = PREFIXES.iter().find(|(k, _)| *k == p) {
            return format!("{ns}{local}");
        }
    }
    term.to_string()
}

/// The name of the column holding `column`'s links of `kind`.
pub fn link_column(column: &str, kind: LinkKind) -> String {
    format!("{column}_{}", kind.name().replace('-', "_"))
}

/// The columns computed from easting and northing: latitude, longitude, the WKT point, and
/// two markers (non-empty when there is a point) that give the row its geometry node.
pub const GEO_COLUMNS: [&str; 5] = ["latitude", "longitude", "wkt", "geometry", "geometry_type"];

/// The name of the computed column of the template's statement `i`: non-empty when every
/// column its URI templates name has a value, so that no statement is made about a URI
/// with a hole in it.
pub fn statement_column(i: usize) -> String {
    format!("statement_{}", i + 1)
}

/// The column names a CSVW URI template refers to (`{a}`, `{+b}`, `{c,d}`), `_row` and the
/// like included.
pub fn template_variables(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner =
            rest[start + 1..start + end].trim_start_matches(['+', '#', '.', '/', ';', '?', '&']);
        for v in inner.split(',') {
            let v = v.trim_end_matches('*');
            let v = v.split(':').next().unwrap_or(v);
            if !v.is_empty() {
                out.push(v.to_string());
            }
        }
        rest = &rest[start + end + 1..];
    }
    out
}

impl Template {
    /// Every template, parsed once per process (a broken built-in template is a bug: its
    /// error names it).
    pub fn all() -> Result<&'static [Template], String> {
        static ALL: std::sync::OnceLock<Result<Vec<Template>, String>> = std::sync::OnceLock::new();
        match ALL.get_or_init(Self::parse_all) {
            Ok(all) => Ok(all.as_slice()),
            Err(e) => Err(e.clone()),
        }
    }

    fn parse_all() -> Result<Vec<Template>, String> {
        SOURCES
            .iter()
            .map(|(id, text)| {
                let t: Template =
                    toml::from_str(text).map_err(|e| format!("vocab/templates/{id}.toml: {e}"))?;
                if t.id != *id {
                    return Err(format!(
                        "vocab/templates/{id}.toml: id is {:?}, not {id:?}",
                        t.id
                    ));
                }
                t.check()
                    .map_err(|e| format!("vocab/templates/{id}.toml: {e}"))?;
                let mut t = t;
                for (i, c) in t.columns.iter().enumerate() {
                    for h in Template::headers(c).chain([&c.name]) {
                        t.headers_index.entry(normalize_header(h)).or_insert(i);
                    }
                }
                Ok(t)
            })
            .collect()
    }

    /// The template `id`.
    pub fn get(id: &str) -> Result<Template, String> {
        Self::all()?
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "there is no template {id:?}; the templates are {}",
                    TEMPLATE_IDS.join(", ")
                )
            })
    }

    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for c in &self.columns {
            if !seen.insert(c.name.as_str()) {
                return Err(format!("column {:?} twice", c.name));
            }
            // A column's name matches headers too (`holding_type` is "HoldingType").
            for h in std::iter::once(&c.title)
                .chain(&c.aliases)
                .chain(std::iter::once(&c.name))
            {
                let key = normalize_header(h);
                for other in self.columns.iter().filter(|o| o.name != c.name) {
                    if std::iter::once(&other.title)
                        .chain(&other.aliases)
                        .chain(std::iter::once(&other.name))
                        .any(|x| normalize_header(x) == key)
                    {
                        return Err(format!(
                            "header {h:?} is given for both {:?} and {:?}",
                            c.name, other.name
                        ));
                    }
                }
            }
        }
        for alternative in &self.key {
            if alternative.is_empty() {
                return Err("key has an empty alternative".into());
            }
            for n in alternative {
                if !self.columns.iter().any(|c| &c.name == n) {
                    return Err(format!("key names no column {n:?}"));
                }
            }
        }
        if !self.key.is_empty() && !self.about.contains(&format!("{{+{ROW_KEY}}}")) {
            return Err(format!("about must name the row's key as {{+{ROW_KEY}}}"));
        }
        if let Some(w) = &self.wide {
            let named = [&w.key, &w.item, &w.default]
                .into_iter()
                .chain(w.values.iter().map(|v| &v.column));
            for n in named {
                if !self.columns.iter().any(|c| &c.name == n) {
                    return Err(format!("wide names no column {n:?}"));
                }
            }
        }
        if let Some(g) = &self.geo {
            for n in [&g.easting, &g.northing].into_iter().chain(g.crs.as_ref()) {
                if !self.columns.iter().any(|c| &c.name == n) {
                    return Err(format!("geo names no column {n:?}"));
                }
            }
        }
        Ok(())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Every header that means `column` (title first).
    pub fn headers(column: &Column) -> impl Iterator<Item = &String> {
        std::iter::once(&column.title).chain(column.aliases.iter())
    }

    /// CSVW metadata for the clean table this template makes (`url` left to the caller). Link
    /// columns (`{column}_{kind}`) and the geo columns come after the template's columns, in
    /// the order [`Template::computed_columns`] gives.
    pub fn metadata(&self, base: &str) -> Value {
        let x = |t: &str| expand(t, base);
        let mut columns: Vec<Value> = Vec::new();
        for c in &self.columns {
            let datatype = json!(c
                .datatype
                .clone()
                .unwrap_or_else(|| c.format.datatype().to_string()));
            let mut col = json!({
                "name": c.name,
                "titles": c.title,
                "datatype": datatype,
                "propertyUrl": x(&c.property),
            });
            if let Some(a) = &c.about {
                col["aboutUrl"] = json!(a);
            }
            if let Some(v) = &c.value_url {
                col["valueUrl"] = json!(v);
            }
            if c.required {
                col["required"] = json!(true);
            }
            columns.push(col);
        }
        for c in self.computed_columns() {
            columns.push(c.spec(&self.about, base));
        }
        for t in &self.types {
            columns.push(json!({
                "virtual": true,
                "propertyUrl": "rdf:type",
                "valueUrl": x(t),
            }));
        }
        json!({
            "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
            "dc:title": self.title,
            "dc:description": self.description,
            "dcterms:conformsTo": {"@id": self.conforms_to},
            "dcat:keyword": self.keywords,
            "tableSchema": {
                "aboutUrl": self.about,
                "columns": columns,
            }
        })
    }

    /// The columns computed from the template's columns, in the order of [`computed_columns`].
    pub fn computed_columns(&self) -> Vec<ComputedColumn> {
        let mut out = computed_columns(
            !self.key.is_empty(),
            self.columns
                .iter()
                .map(|c| (c.name.as_str(), c.links.as_slice())),
            self.geo.is_some(),
            &self.statements,
        );
        out.extend(self.titles());
        out
    }

    /// The computed columns that title things: the row's label, then for each column naming
    /// another resource (`rdfs:label` with its own `about`) its preferred and other spellings.
    fn titles(&self) -> Vec<ComputedColumn> {
        let mut out = Vec::new();
        if let Some(l) = &self.label {
            out.push(ComputedColumn {
                name: ROW_LABEL.to_string(),
                what: Computed::Label(l.clone()),
            });
        }
        for c in &self.columns {
            if let (true, Some(about)) = (c.property == "rdfs:label", &c.about) {
                out.push(ComputedColumn {
                    name: format!("{}_preferred", c.name),
                    what: Computed::Preferred {
                        column: c.name.clone(),
                        about: about.clone(),
                    },
                });
                out.push(ComputedColumn {
                    name: format!("{}_alternative", c.name),
                    what: Computed::Alternative {
                        column: c.name.clone(),
                        about: about.clone(),
                    },
                });
            }
        }
        out
    }

    /// fivestar's own terms this template uses, as Turtle statements (label and comment).
    fn own_terms(&self, out: &mut Vec<(String, String, String)>) {
        for t in &self.types {
            if let Some(local) = t.strip_prefix("fs:") {
                out.push((local.to_string(), split_camel(local), String::new()));
            }
        }
        for c in &self.columns {
            if let Some(local) = c.property.strip_prefix("fs:") {
                out.push((local.to_string(), c.title.clone(), c.description.clone()));
            }
            for l in &c.links {
                if let Some(local) = l.property.strip_prefix("fs:") {
                    // Shared by templates (fs:month, fs:postcode…): named for what it links to.
                    out.push((
                        local.to_string(),
                        split_camel(local),
                        l.kind.describe().to_string(),
                    ));
                }
            }
        }
    }
}

/// What a computed column holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// The row's key ([`ROW_KEY`]): its identifying values, percent-encoded, one path segment
    /// each, or a hash of the row's values when it has none (the pipeline's link stage says
    /// which rows and why).
    Key,
    /// One link rule of the mapped column `column`: its URIs or normalised identifiers.
    Link { column: String, link: Link },
    /// WGS84 latitude from easting and northing.
    Latitude,
    /// WGS84 longitude.
    Longitude,
    /// The GeoSPARQL WKT point.
    Wkt,
    /// `hasGeometry` of the row, when it has a point.
    Geometry,
    /// The geometry's type, when the row has a point.
    GeometryType,
    /// A statement made about every row whose URI templates have no holes.
    Statement(Statement),
    /// The row's title ([`Template::label`]), as `rdfs:label`.
    Label(String),
    /// The most used spelling of `column` (an `rdfs:label` of another resource, `about`) among
    /// the rows about the same resource, as its `skos:prefLabel`.
    Preferred { column: String, about: String },
    /// The row's spelling of `column` when it is not the preferred one, as `skos:altLabel`.
    Alternative { column: String, about: String },
}

/// A column of the clean table computed from the mapped ones (by the pipeline's link stage).
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedColumn {
    /// Its name (and header) in the clean table.
    pub name: String,
    pub what: Computed,
}

/// The name of the computed column holding each row's key (not published as a property: the
/// row's URI holds it).
pub const ROW_KEY: &str = "row_key";

/// The name of the computed column holding each row's title ([`Template::label`]).
pub const ROW_LABEL: &str = "row_label";

/// The one definition of which columns are computed and in what order: the row's key when the
/// mapping has one, each mapped column's link rules (`{column}_{kind}`), then the geo columns
/// when there is an easting and northing, then one marker per statement. The clean table has
/// them after the mapped columns.
pub fn computed_columns<'a>(
    key: bool,
    columns: impl IntoIterator<Item = (&'a str, &'a [Link])>,
    geo: bool,
    statements: &[Statement],
) -> Vec<ComputedColumn> {
    let mut out = Vec::new();
    if key {
        out.push(ComputedColumn {
            name: ROW_KEY.to_string(),
            what: Computed::Key,
        });
    }
    for (column, links) in columns {
        for l in links {
            out.push(ComputedColumn {
                name: link_column(column, l.kind),
                what: Computed::Link {
                    column: column.to_string(),
                    link: l.clone(),
                },
            });
        }
    }
    if geo {
        let parts = [
            Computed::Latitude,
            Computed::Longitude,
            Computed::Wkt,
            Computed::Geometry,
            Computed::GeometryType,
        ];
        for (name, what) in GEO_COLUMNS.iter().zip(parts) {
            out.push(ComputedColumn {
                name: name.to_string(),
                what,
            });
        }
    }
    for (i, st) in statements.iter().enumerate() {
        out.push(ComputedColumn {
            name: statement_column(i),
            what: Computed::Statement(st.clone()),
        });
    }
    out
}

impl ComputedColumn {
    /// The column's CSVW description; `row` is the row's `aboutUrl` (the geometry node hangs
    /// off it) and `base` expands `fs:` terms.
    pub fn spec(&self, row: &str, base: &str) -> Value {
        let x = |t: &str| expand(t, base);
        let name = &self.name;
        let mut col = json!({"name": name, "titles": name});
        match &self.what {
            Computed::Key => {
                col["suppressOutput"] = json!(true);
            }
            Computed::Link { link, .. } => {
                col["propertyUrl"] = json!(x(&link.property));
                if let Some(a) = &link.about {
                    col["aboutUrl"] = json!(a);
                }
                match link.kind.output() {
                    crate::links::Output::Iri => col["valueUrl"] = json!(format!("{{+{name}}}")),
                    crate::links::Output::Literal => {}
                }
            }
            Computed::Latitude => {
                col["propertyUrl"] = json!(x("geo:lat"));
                col["datatype"] = json!("decimal");
            }
            Computed::Longitude => {
                col["propertyUrl"] = json!(x("geo:long"));
                col["datatype"] = json!("decimal");
            }
            Computed::Wkt => {
                col["propertyUrl"] = json!(x("geosparql:asWKT"));
                col["aboutUrl"] = json!(format!("{row}#geometry"));
                col["datatype"] = json!({
                    "base": "string",
                    "@id": "http://www.opengis.net/ont/geosparql#wktLiteral"
                });
            }
            Computed::Geometry => {
                col["propertyUrl"] = json!(x("geosparql:hasGeometry"));
                col["valueUrl"] = json!(format!("{row}#geometry"));
            }
            Computed::GeometryType => {
                col["aboutUrl"] = json!(format!("{row}#geometry"));
                col["propertyUrl"] = json!("rdf:type");
                col["valueUrl"] = json!(x("geosparql:Geometry"));
            }
            Computed::Statement(st) => {
                col["propertyUrl"] = json!(x(&st.property));
                col["valueUrl"] = json!(x(&st.value));
                if let Some(a) = &st.about {
                    col["aboutUrl"] = json!(a);
                }
            }
            Computed::Label(_) => {
                col["propertyUrl"] = json!(x("rdfs:label"));
            }
            Computed::Preferred { about, .. } => {
                col["propertyUrl"] = json!(x("skos:prefLabel"));
                col["aboutUrl"] = json!(about);
            }
            Computed::Alternative { about, .. } => {
                col["propertyUrl"] = json!(x("skos:altLabel"));
                col["aboutUrl"] = json!(about);
            }
        }
        col
    }
}

/// `PlanningApplication` → `planning application`.
fn split_camel(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// fivestar's own vocabulary (`{base}/def/fivestar#`) as Turtle: every `fs:` term the
/// templates use, labelled from the template column and commented from its description.
pub fn own_vocabulary(base: &str) -> Result<Vec<u8>, String> {
    use oxrdf::vocab::{rdf, rdfs};
    use oxrdf::{LiteralRef, NamedNode, TripleRef};
    let mut terms = Vec::new();
    for t in Template::all()? {
        t.own_terms(&mut terms);
    }
    terms.sort();
    terms.dedup_by(|a, b| a.0 == b.0);
    let ns = expand("fs:", base);
    let iri = |s: String| NamedNode::new(s).map_err(|e| format!("fivestar's own terms: {e}"));
    let owl =
        |local: &str| NamedNode::new_unchecked(format!("http://www.w3.org/2002/07/owl#{local}"));
    let mut out = oxrdfio::RdfSerializer::from_format(oxrdfio::RdfFormat::Turtle)
        .with_prefix("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")
        .and_then(|s| s.with_prefix("rdfs", "http://www.w3.org/2000/01/rdf-schema#"))
        .and_then(|s| s.with_prefix("owl", "http://www.w3.org/2002/07/owl#"))
        .and_then(|s| s.with_prefix("fs", ns.as_str()))
        .map_err(|e| format!("fivestar's own terms: {e}"))?
        .for_writer(Vec::new());
    let mut term = |subject: &NamedNode, class: NamedNode, label: &str, comment: &str| {
        let mut triples = vec![TripleRef::new(subject, rdf::TYPE, &class)];
        let label = LiteralRef::new_language_tagged_literal_unchecked(label, "en");
        triples.push(TripleRef::new(subject, rdfs::LABEL, label));
        let comment = LiteralRef::new_language_tagged_literal_unchecked(comment, "en");
        if !comment.value().is_empty() {
            triples.push(TripleRef::new(subject, rdfs::COMMENT, comment));
        }
        triples
            .into_iter()
            .try_for_each(|t| out.serialize_triple(t))
            .map_err(|e| e.to_string())
    };
    term(
        &iri(ns.trim_end_matches('#').to_string())?,
        owl("Ontology"),
        "fivestar terms",
        "Terms fivestar's council templates need that no shared vocabulary has.",
    )?;
    term(
        &iri(format!("{ns}fiveStarRating"))?,
        NamedNode::new_unchecked("http://www.w3.org/ns/dqv#Metric"),
        "five-star rating",
        "Tim Berners-Lee's five-star scheme for open data, computed from what was published: open licence (1), machine-readable (2), open format (3), URIs (4), links to other people's data (5). The measurement's comments give the reason for each missing star.",
    )?;
    // The catalogue's terms for what a release changed (written by the store at publish),
    // and the summaries' (RDF Data Cube measures, written by the store at publish).
    for (local, label, comment) in [
        ("total", "total", "A summary's measure: the sum of the summed property (fs:summarises) over the lines the observation stands for."),
        ("lines", "lines", "A summary's measure: how many lines (rows) the observation stands for."),
        ("summarises", "summarises", "The property a summary (a qb:DataSet in a release's summary graph) sums as fs:total."),
        ("Changeset", "changeset", "What a release changed since the release that was live before it: the counts below and a summary in words (rdfs:comment), derived (prov:wasDerivedFrom) from both releases. The release's RDF Patch and row changes CSV are among its distributions."),
        ("changes", "changes", "A release's changeset."),
        ("triplesAdded", "statements added", "How many statements the release has that the previous one did not."),
        ("triplesRemoved", "statements removed", "How many statements of the previous release the release no longer has."),
        ("rowsAdded", "rows added", "How many rows (by their key) the release added."),
        ("rowsRemoved", "rows removed", "How many rows (by their key) the release removed."),
        ("rowsChanged", "rows changed", "How many rows (by their key) have another value in at least one column."),
    ] {
        terms.retain(|t| t.0 != local);
        terms.push((local.to_string(), label.to_string(), comment.to_string()));
    }
    for (local, label, comment) in terms {
        let class = if local.starts_with(|c: char| c.is_ascii_uppercase()) {
            rdfs::CLASS.into_owned()
        } else {
            rdf::PROPERTY.into_owned()
        };
        term(&iri(format!("{ns}{local}"))?, class, &label, &comment)?;
    }
    out.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_loads_and_makes_usable_metadata() {
        let all = Template::all().unwrap();
        assert_eq!(
            all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            TEMPLATE_IDS
        );
        for t in all {
            let m = t.metadata("http://example.org");
            let cols = m["tableSchema"]["columns"].as_array().unwrap();
            assert!(cols.len() >= t.columns.len(), "{}", t.id);
            for c in cols {
                if c["suppressOutput"] == serde_json::json!(true) {
                    assert_eq!(c["name"], ROW_KEY, "{}", t.id);
                    continue;
                }
                let p = c["propertyUrl"].as_str().unwrap();
                assert!(
                    p.starts_with("http://") || p == "rdf:type",
                    "{}: property {p} not expanded",
                    t.id
                );
            }
            assert!(
                t.columns.iter().any(|c| c.core),
                "{}: no core columns",
                t.id
            );
            // Every template names its rows by their key, never by their place in the file.
            assert!(!t.key.is_empty(), "{}: no key", t.id);
            assert!(t.noun.is_some(), "{}: no noun", t.id);
            assert!(t.about.contains("{+row_key}"), "{}: {}", t.id, t.about);
            assert!(!t.about.contains("_row"), "{}: {}", t.id, t.about);
            // A row's title names only its own columns; money is an amount.
            if let Some(l) = &t.label {
                for v in template_variables(l) {
                    assert!(t.column(&v).is_some(), "{}: label names {v}", t.id);
                }
            }
            for c in t.columns.iter().filter(|c| c.money) {
                assert_eq!(c.format, ValueKind::Amount, "{}: {}", t.id, c.name);
            }
        }
        // Money is marked where a page must show pounds, and only there.
        let spend = Template::get("spend").unwrap();
        assert!(spend.column("net_amount").unwrap().money);
        let toilets = Template::get("public-toilets").unwrap();
        assert!(!toilets.column("easting").unwrap().money);
    }

    #[test]
    fn own_vocabulary_parses() {
        let ttl = own_vocabulary("http://example.org").unwrap();
        let n = oxrdfio::RdfParser::from_format(oxrdfio::RdfFormat::Turtle)
            .for_reader(ttl.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert!(n.len() > 30, "{}", n.len());
        let text: Vec<String> = n.iter().map(|t| t.to_string()).collect();
        for want in [
            "<http://example.org/def/fivestar> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2002/07/owl#Ontology>",
            "<http://example.org/def/fivestar#fiveStarRating> <http://www.w3.org/2000/01/rdf-schema#label> \"five-star rating\"@en",
            "<http://example.org/def/fivestar#Changeset> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2000/01/rdf-schema#Class>",
            "<http://example.org/def/fivestar#rowsChanged> <http://www.w3.org/2000/01/rdf-schema#label> \"rows changed\"@en",
        ] {
            assert!(text.iter().any(|t| t == want), "missing {want}");
        }
    }

    #[test]
    fn uri_template_variables() {
        assert_eq!(
            template_variables("supplier/{supplier_name_supplier}#x{+a,b}"),
            ["supplier_name_supplier", "a", "b"]
        );
        assert!(template_variables("plain").is_empty());
    }

    #[test]
    fn prefixes_expand() {
        assert_eq!(
            expand("payment:payee", "http://x"),
            "http://reference.data.gov.uk/def/payment#payee"
        );
        assert_eq!(
            expand("fs:expenseArea", "http://x/"),
            "http://x/def/fivestar#expenseArea"
        );
        assert_eq!(expand("http://a/b", "http://x"), "http://a/b");
    }
}
