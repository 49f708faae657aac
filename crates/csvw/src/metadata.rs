//! Metadata documents (tabular-metadata §5–6): parsing, validation and normalization into
//! typed descriptions, with inherited properties resolved onto columns.

use crate::context::{self, expand_prefixed, expand_term};
use crate::datatype::{Base, Bound, Datatype, DatePattern, Format, NumberFormat, NumberPattern};
use crate::diag::{Diagnostic, Error, Report, Result};
use crate::dialect::{Dialect, Trim};
use crate::fetch::{read_to_vec, Fetcher};
use crate::uritemplate::UriTemplate;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use url::Url;

/// Metadata documents larger than this are refused (64 MiB).
pub const METADATA_LIMIT: u64 = 64 * 1024 * 1024;

/// Notes and common properties: `(property, normalized value)` in document order.
pub type Annotations = Vec<(String, Value)>;

/// A normalized table group description.
#[derive(Debug, Clone)]
pub struct TableGroup {
    pub id: Option<String>,
    pub tables: Vec<Table>,
    /// Notes and common properties, in document order: `(property, normalized value)`.
    pub annotations: Vec<(String, Value)>,
    /// The URL of the metadata document, if the group came from one.
    pub metadata_url: Option<Url>,
}

/// A normalized table description.
#[derive(Debug, Clone)]
pub struct Table {
    pub url: Url,
    pub id: Option<String>,
    pub suppress_output: bool,
    pub annotations: Vec<(String, Value)>,
    pub dialect: Dialect,
    /// Whether a dialect was given in metadata (if not, HTTP headers may adjust it).
    pub dialect_given: bool,
    pub schema: Schema,
    pub table_direction: String,
    /// Inherited properties set on the group, table and schema, for undescribed columns.
    pub(crate) inherited: Inherited,
}

/// A normalized schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub id: Option<String>,
    pub columns: Vec<Column>,
    /// Whether the metadata described any columns at all.
    pub columns_given: bool,
    pub primary_key: Vec<usize>,
    pub row_titles: Vec<usize>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// A foreign key, resolved to column indexes.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub columns: Vec<usize>,
    pub table: usize,
    pub table_columns: Vec<usize>,
}

/// A column with every inherited property resolved.
#[derive(Debug, Clone)]
pub struct Column {
    /// 1-based.
    pub number: usize,
    pub name: String,
    /// Whether `name` was given explicitly.
    pub name_given: bool,
    pub titles: Vec<(String, String)>,
    pub virtual_: bool,
    pub suppress_output: bool,
    pub id: Option<String>,
    pub props: Props,
}

/// The cell-level annotations a column passes to its cells.
#[derive(Debug, Clone)]
pub struct Props {
    pub about_url: Option<Arc<UriTemplate>>,
    pub property_url: Option<Arc<UriTemplate>>,
    pub value_url: Option<Arc<UriTemplate>>,
    pub datatype: Datatype,
    /// Whether a datatype was given (cells without one are plain strings).
    pub datatype_given: bool,
    pub default: String,
    pub lang: String,
    pub null: Vec<String>,
    pub ordered: bool,
    pub required: bool,
    pub separator: Option<String>,
    pub text_direction: String,
}

/// Inherited properties as found on one description object.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inherited {
    about_url: Option<Arc<UriTemplate>>,
    property_url: Option<Arc<UriTemplate>>,
    value_url: Option<Arc<UriTemplate>>,
    datatype: Option<Datatype>,
    default: Option<String>,
    lang: Option<String>,
    null: Option<Vec<String>>,
    ordered: Option<bool>,
    required: Option<bool>,
    separator: Option<Option<String>>,
    text_direction: Option<String>,
}

impl Inherited {
    /// `self` overrides `parent`.
    fn over(&self, parent: &Inherited) -> Inherited {
        Inherited {
            about_url: self.about_url.clone().or_else(|| parent.about_url.clone()),
            property_url: self
                .property_url
                .clone()
                .or_else(|| parent.property_url.clone()),
            value_url: self.value_url.clone().or_else(|| parent.value_url.clone()),
            datatype: self.datatype.clone().or_else(|| parent.datatype.clone()),
            default: self.default.clone().or_else(|| parent.default.clone()),
            lang: self.lang.clone().or_else(|| parent.lang.clone()),
            null: self.null.clone().or_else(|| parent.null.clone()),
            ordered: self.ordered.or(parent.ordered),
            required: self.required.or(parent.required),
            separator: self.separator.clone().or_else(|| parent.separator.clone()),
            text_direction: self
                .text_direction
                .clone()
                .or_else(|| parent.text_direction.clone()),
        }
    }

    pub(crate) fn props(&self, table_direction: &str) -> Props {
        let td = self
            .text_direction
            .clone()
            .unwrap_or_else(|| "inherit".into());
        Props {
            about_url: self.about_url.clone(),
            property_url: self.property_url.clone(),
            value_url: self.value_url.clone(),
            datatype_given: self.datatype.is_some(),
            datatype: self
                .datatype
                .clone()
                .unwrap_or_else(|| Datatype::builtin(Base::String)),
            default: self.default.clone().unwrap_or_default(),
            lang: self.lang.clone().unwrap_or_else(|| "und".into()),
            null: self.null.clone().unwrap_or_else(|| vec![String::new()]),
            ordered: self.ordered.unwrap_or(false),
            required: self.required.unwrap_or(false),
            separator: self.separator.clone().unwrap_or(None),
            text_direction: if td == "inherit" {
                table_direction.to_string()
            } else {
                td
            },
        }
    }
}

impl Column {
    /// A column the metadata does not describe (named `_col.N`).
    pub(crate) fn undescribed(number: usize, inherited: &Inherited, table_direction: &str) -> Self {
        Column {
            number,
            name: format!("_col.{number}"),
            name_given: false,
            titles: Vec::new(),
            virtual_: false,
            suppress_output: false,
            id: None,
            props: inherited.props(table_direction),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    TableGroup,
    Table,
    Schema,
    Column,
    Dialect,
    Transformation,
    Datatype,
    ForeignKey,
    Reference,
}

const INHERITED: &[&str] = &[
    "aboutUrl",
    "datatype",
    "default",
    "lang",
    "null",
    "ordered",
    "propertyUrl",
    "required",
    "separator",
    "textDirection",
    "valueUrl",
];

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::TableGroup => "TableGroup",
            Kind::Table => "Table",
            Kind::Schema => "Schema",
            Kind::Column => "Column",
            Kind::Dialect => "Dialect",
            Kind::Transformation => "Template",
            Kind::Datatype => "Datatype",
            Kind::ForeignKey | Kind::Reference => "",
        }
    }

    fn own_properties(self) -> &'static [&'static str] {
        match self {
            Kind::TableGroup => &[
                "tables",
                "dialect",
                "notes",
                "tableDirection",
                "tableSchema",
                "transformations",
            ],
            Kind::Table => &[
                "url",
                "dialect",
                "notes",
                "suppressOutput",
                "tableDirection",
                "tableSchema",
                "transformations",
            ],
            Kind::Schema => &["columns", "foreignKeys", "primaryKey", "rowTitles"],
            Kind::Column => &["name", "suppressOutput", "titles", "virtual"],
            Kind::Dialect => &[
                "commentPrefix",
                "delimiter",
                "doubleQuote",
                "encoding",
                "header",
                "headerRowCount",
                "lineTerminators",
                "quoteChar",
                "skipBlankRows",
                "skipColumns",
                "skipInitialSpace",
                "skipRows",
                "trim",
            ],
            Kind::Transformation => &["url", "scriptFormat", "targetFormat", "source", "titles"],
            Kind::Datatype => &[
                "base",
                "format",
                "length",
                "minLength",
                "maxLength",
                "minimum",
                "maximum",
                "minInclusive",
                "maxInclusive",
                "minExclusive",
                "maxExclusive",
            ],
            Kind::ForeignKey => &["columnReference", "reference"],
            Kind::Reference => &["resource", "schemaReference", "columnReference"],
        }
    }

    fn has_inherited(self) -> bool {
        matches!(
            self,
            Kind::TableGroup | Kind::Table | Kind::Schema | Kind::Column
        )
    }

    fn allows_common(self) -> bool {
        !matches!(self, Kind::ForeignKey | Kind::Reference)
    }
}

const ALL_PROPERTIES: &[Kind] = &[
    Kind::TableGroup,
    Kind::Table,
    Kind::Schema,
    Kind::Column,
    Kind::Dialect,
    Kind::Transformation,
    Kind::Datatype,
];

/// Is this a common property name: a prefixed name with a known prefix, or an absolute URL?
pub fn is_common_property(key: &str) -> bool {
    if let Some((p, rest)) = key.split_once(':') {
        if context::is_prefix(p) {
            return true;
        }
        return Url::parse(key).is_ok() && !rest.is_empty();
    }
    false
}

/// Resolves a reference against a base by RFC 3986 (no normalization beyond it).
pub fn resolve_iri(base: &str, reference: &str) -> Option<String> {
    let base = oxiri::Iri::parse(base.to_string()).ok()?;
    base.resolve(reference).ok().map(|i| i.into_inner())
}

/// Valid BCP47 language tag (RFC 5646 syntax).
pub fn is_language_tag(s: &str) -> bool {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?i)((([a-z]{2,3}(-[a-z]{3}){0,3})|[a-z]{4}|[a-z]{5,8})(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(-[0-9a-wy-z](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?|x(-[a-z0-9]{1,8})+|i-default|i-[a-z]{3,8}|en-gb-oed|sgn-[a-z]{2}-[a-z]{2,3})$",
        )
        .expect("static regex")
    })
    .is_match(s)
}

/// State while reading one metadata document.
pub(crate) struct Reader<'a> {
    pub fetcher: &'a dyn Fetcher,
    pub report: &'a mut Report,
    /// The metadata document's URL, for messages.
    pub file: String,
    pub base: Url,
    pub lang: Option<String>,
}

impl Reader<'_> {
    fn warn(&mut self, rule: &str, msg: impl Into<String>) {
        let d = Diagnostic::warning(rule, msg).file(self.file.clone());
        self.report.push(d);
    }
    fn err(&self, rule: &str, msg: impl Into<String>) -> Error {
        Error::invalid(Diagnostic::error(rule, msg).file(self.file.clone()))
    }

    fn resolve(&self, s: &str) -> Result<Url> {
        self.base
            .join(s)
            .map_err(|e| self.err("url", format!("cannot resolve {s:?} as a URL: {e}")))
    }

    /// Expands a prefixed name, then resolves against the base (for `@id` and link
    /// properties), by RFC 3986 alone: no scheme-based normalization.
    fn link(&self, s: &str) -> Result<String> {
        if let Some(e) = expand_prefixed(s) {
            return Ok(e);
        }
        resolve_iri(self.base.as_str(), s)
            .ok_or_else(|| self.err("url", format!("cannot resolve {s:?} as a URL")))
    }
}

/// Reads the `@context` of a top-level object, updating base and language.
fn read_context(r: &mut Reader<'_>, obj: &Map<String, Value>, required: bool) -> Result<()> {
    const NS: &str = "http://www.w3.org/ns/csvw";
    let Some(ctx) = obj.get("@context") else {
        if required {
            return Err(r.err("@context", "the metadata has no @context"));
        }
        return Ok(());
    };
    match ctx {
        Value::String(s) if s == NS => Ok(()),
        Value::Array(a) if a.len() == 2 && a[0] == NS => {
            let Some(local) = a[1].as_object() else {
                return Err(r.err(
                    "@context",
                    "the second item of @context must be an object with @base or @language",
                ));
            };
            for (k, v) in local {
                match k.as_str() {
                    "@base" => match v.as_str() {
                        Some(b) => r.base = r.resolve(b)?,
                        None => r.warn("@context", "@base must be a string; ignored"),
                    },
                    "@language" => match v.as_str() {
                        Some(l) if is_language_tag(l) => r.lang = Some(l.to_string()),
                        _ => r.warn(
                            "@context",
                            format!("@language {v} is not a valid language tag; ignored"),
                        ),
                    },
                    other => {
                        return Err(r.err(
                            "@context",
                            format!("@context may only hold @base and @language, not {other:?}"),
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Array(a) if a.len() == 1 && a[0] == NS => Ok(()),
        other => Err(r.err(
            "@context",
            format!("@context must be {NS:?} or [{NS:?}, {{…}}], not {other}"),
        )),
    }
}

/// Parses a metadata document into a table group.
pub(crate) fn parse_document(
    fetcher: &dyn Fetcher,
    report: &mut Report,
    url: &Url,
    bytes: &[u8],
) -> Result<TableGroup> {
    let file = url.to_string();
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            Diagnostic::error("json", format!("the metadata is not valid JSON: {e}"))
                .file(file.clone()),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(Error::invalid(
            Diagnostic::error("json", "the metadata must be a JSON object").file(file),
        ));
    };
    let mut r = Reader {
        fetcher,
        report,
        file,
        base: url.clone(),
        lang: None,
    };
    read_context(&mut r, &obj, true)?;
    let mut group = if obj.contains_key("tables") {
        parse_group(&mut r, &obj)?
    } else if obj.contains_key("url") {
        let mut g = Map::new();
        g.insert("tables".into(), Value::Array(vec![Value::Object(obj)]));
        parse_group(&mut r, &g)?
    } else {
        return Err(r.err(
            "tables",
            "the metadata describes neither a table group (no \"tables\") nor a table (no \"url\")",
        ));
    };
    group.metadata_url = Some(url.clone());
    Ok(group)
}

/// Fetches a JSON object referenced by an object property.
fn fetch_object(r: &mut Reader<'_>, s: &str) -> Result<(Url, Map<String, Value>)> {
    let url = r.resolve(s)?;
    let res = r
        .fetcher
        .fetch(&url)
        .map_err(|message| Error::Fetch {
            url: url.to_string(),
            message,
        })?
        .ok_or_else(|| r.err("fetch", format!("{url} was not found")))?;
    let bytes = read_to_vec(res.body, METADATA_LIMIT).map_err(|e| Error::Fetch {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| r.err("json", format!("{url} is not valid JSON: {e}")))?;
    match v {
        Value::Object(o) => Ok((url, o)),
        _ => Err(r.err("json", format!("{url} must hold a JSON object"))),
    }
}

/// Checks the keys of a description object: @id, @type, unknown properties, common properties.
/// Returns the normalized common properties (and notes).
fn check_keys(
    r: &mut Reader<'_>,
    kind: Kind,
    obj: &Map<String, Value>,
) -> Result<(Option<String>, Annotations)> {
    let mut id = None;
    let mut common = Vec::new();
    for (k, v) in obj {
        match k.as_str() {
            "@context" => {}
            "@id" => {
                let Some(s) = v.as_str() else {
                    // A link property that is not a string acts as the empty string.
                    r.warn("@id", format!("@id must be a string, not {v}; using \"\""));
                    id = Some(r.link("")?);
                    continue;
                };
                if s.starts_with("_:") {
                    return Err(r.err("@id", format!("@id {s:?} must not be a blank node")));
                }
                id = Some(r.link(s)?);
            }
            "@type" => {
                if v.as_str() != Some(kind.type_name()) || kind.type_name().is_empty() {
                    return Err(r.err(
                        "@type",
                        format!("@type must be {:?}, not {v}", kind.type_name()),
                    ));
                }
            }
            "notes" if matches!(kind, Kind::TableGroup | Kind::Table) => match v {
                Value::Array(a) => {
                    let mut out = Vec::new();
                    for item in a {
                        out.push(normalize_common(r, item)?);
                    }
                    common.push(("notes".to_string(), Value::Array(out)));
                }
                _ => r.warn("notes", "notes must be an array; ignored"),
            },
            key if kind.own_properties().contains(&key) => {}
            key if kind.has_inherited() && INHERITED.contains(&key) => {}
            key if key.starts_with('@') => {
                return Err(r.err("property", format!("{key:?} is not allowed here")));
            }
            key if kind.allows_common() && is_common_property(key) => {
                common.push((key.to_string(), normalize_common(r, v)?));
            }
            key => {
                if matches!(kind, Kind::ForeignKey | Kind::Reference) {
                    return Err(r.err(
                        "foreignKeys",
                        format!("{key:?} is not allowed in a foreign key definition"),
                    ));
                }
                let elsewhere = ALL_PROPERTIES
                    .iter()
                    .any(|k| k.own_properties().contains(&key))
                    || INHERITED.contains(&key);
                if elsewhere {
                    r.warn(
                        "property",
                        format!(
                            "{key:?} is not a property of a {} description; ignored",
                            kind.type_name()
                        ),
                    );
                } else {
                    r.warn(
                        "property",
                        format!("{key:?} is not a defined property; ignored"),
                    );
                }
            }
        }
    }
    Ok((id, common))
}

/// Normalizes and checks a common property value (tabular-metadata §5.8.2, §6).
fn normalize_common(r: &mut Reader<'_>, v: &Value) -> Result<Value> {
    Ok(match v {
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                out.push(normalize_common(r, item)?);
            }
            Value::Array(out)
        }
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("@value".into(), Value::String(s.clone()));
            if let Some(l) = &r.lang {
                m.insert("@language".into(), Value::String(l.clone()));
            }
            Value::Object(m)
        }
        Value::Object(o) if o.contains_key("@value") => {
            let val = &o["@value"];
            if !(val.is_string() || val.is_number() || val.is_boolean()) {
                return Err(r.err("@value", "@value must be a string, number or boolean"));
            }
            if o.contains_key("@type") && o.contains_key("@language") {
                return Err(r.err("@value", "@value cannot have both @type and @language"));
            }
            for k in o.keys() {
                if !matches!(k.as_str(), "@value" | "@type" | "@language") {
                    return Err(r.err(
                        "@value",
                        format!("an object with @value cannot also have {k:?}"),
                    ));
                }
            }
            if let Some(l) = o.get("@language") {
                match l.as_str() {
                    Some(l) if is_language_tag(l) => {}
                    Some(l) if !val.is_string() => {
                        let _ = l;
                        return Err(r.err("@language", "@language needs a string @value"));
                    }
                    _ => {
                        return Err(r.err(
                            "@language",
                            format!("@language {l} is not a valid language tag"),
                        ))
                    }
                }
            }
            if let Some(t) = o.get("@type") {
                let ok = t.as_str().is_some_and(|t| {
                    Base::from_name(t).is_some()
                        || expand_prefixed(t).is_some()
                        || (Url::parse(t).is_ok() && !t.starts_with("_:"))
                });
                if !ok {
                    return Err(r.err("@type", format!("@type {t} is not a datatype")));
                }
            }
            v.clone()
        }
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, val) in o {
                match k.as_str() {
                    "@id" => {
                        let Some(s) = val.as_str() else {
                            return Err(r.err("@id", "@id must be a string"));
                        };
                        if s.starts_with("_:") {
                            return Err(r.err("@id", format!("@id {s:?} must not be a blank node")));
                        }
                        m.insert(k.clone(), Value::String(r.link(s)?));
                    }
                    "@type" => {
                        let types: Vec<&Value> = match val {
                            Value::Array(a) => a.iter().collect(),
                            other => vec![other],
                        };
                        for t in types {
                            let ok = t.as_str().is_some_and(|t| {
                                ALL_PROPERTIES.iter().any(|k| k.type_name() == t)
                                    || expand_prefixed(t).is_some()
                                    || (t.contains(':')
                                        && Url::parse(t).is_ok()
                                        && !t.starts_with("_:"))
                            });
                            if !ok {
                                return Err(r.err("@type", format!("@type {t} is not a type")));
                            }
                        }
                        m.insert(k.clone(), val.clone());
                    }
                    "@language" => {
                        return Err(r.err("@language", "@language is only allowed with @value"))
                    }
                    key if key.starts_with('@') => {
                        return Err(r.err(
                            "property",
                            format!("{key:?} is not allowed in a common property value"),
                        ))
                    }
                    _ => {
                        m.insert(k.clone(), normalize_common(r, val)?);
                    }
                }
            }
            Value::Object(m)
        }
        other => other.clone(),
    })
}

fn get_bool(r: &mut Reader<'_>, obj: &Map<String, Value>, key: &str) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        other => {
            r.warn(
                key,
                format!("{key} must be a boolean, not {other}; ignored"),
            );
            None
        }
    }
}

fn get_direction(
    r: &mut Reader<'_>,
    obj: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if allowed.contains(&s.as_str()) => Some(s.clone()),
        other => {
            r.warn(
                key,
                format!("{key} must be one of {allowed:?}, not {other}; ignored"),
            );
            None
        }
    }
}

fn parse_group(r: &mut Reader<'_>, obj: &Map<String, Value>) -> Result<TableGroup> {
    let (id, annotations) = check_keys(r, Kind::TableGroup, obj)?;
    let inherited = parse_inherited(r, obj)?;
    let direction = get_direction(r, obj, "tableDirection", &["rtl", "ltr", "auto"])
        .unwrap_or_else(|| "auto".into());
    let dialect = match obj.get("dialect") {
        Some(d) => Some(parse_dialect(r, d)?),
        None => None,
    };
    let schema_value = obj.get("tableSchema").cloned();
    parse_transformations(r, obj)?;
    let tables_value = obj.get("tables").cloned().unwrap_or(Value::Null);
    let items = match tables_value {
        Value::Array(a) => a,
        Value::Null => return Err(r.err("tables", "a table group needs \"tables\"")),
        other => {
            r.warn("tables", format!("tables must be an array, not {other}"));
            Vec::new()
        }
    };
    let mut tables = Vec::new();
    let mut raw_fks = Vec::new();
    for item in items {
        let Value::Object(t) = item else {
            r.warn(
                "tables",
                format!("{item} is not a table description; ignored"),
            );
            continue;
        };
        let (table, fks) = parse_table(
            r,
            &t,
            &inherited,
            &direction,
            dialect.as_ref(),
            schema_value.as_ref(),
        )?;
        tables.push(table);
        raw_fks.push(fks);
    }
    if tables.is_empty() {
        return Err(r.err("tables", "the table group has no tables"));
    }
    resolve_foreign_keys(r, &mut tables, raw_fks)?;
    Ok(TableGroup {
        id,
        tables,
        annotations,
        metadata_url: None,
    })
}

fn parse_transformations(r: &mut Reader<'_>, obj: &Map<String, Value>) -> Result<()> {
    let Some(v) = obj.get("transformations") else {
        return Ok(());
    };
    let Value::Array(items) = v else {
        r.warn(
            "transformations",
            "transformations must be an array; ignored",
        );
        return Ok(());
    };
    for item in items {
        let Value::Object(t) = item else {
            r.warn(
                "transformations",
                format!("{item} is not a transformation definition; ignored"),
            );
            continue;
        };
        check_keys(r, Kind::Transformation, t)?;
        for req in ["url", "scriptFormat", "targetFormat"] {
            match t.get(req) {
                Some(Value::String(_)) => {}
                _ => r.warn(
                    "transformations",
                    format!("a transformation needs a string {req}"),
                ),
            }
        }
        if let Some(s) = t.get("source") {
            if !matches!(s.as_str(), Some("json" | "rdf")) && !s.is_null() {
                r.warn("transformations", format!("source {s} is not json or rdf"));
            }
        }
        if let Some(titles) = t.get("titles") {
            parse_titles(r, titles);
        }
    }
    Ok(())
}

struct RawForeignKey {
    columns: Vec<String>,
    resource: Option<String>,
    schema_reference: Option<String>,
    ref_columns: Vec<String>,
}

fn parse_table(
    r: &mut Reader<'_>,
    obj: &Map<String, Value>,
    group_inherited: &Inherited,
    group_direction: &str,
    group_dialect: Option<&Dialect>,
    group_schema: Option<&Value>,
) -> Result<(Table, Vec<RawForeignKey>)> {
    let (id, annotations) = check_keys(r, Kind::Table, obj)?;
    let url = match obj.get("url") {
        Some(Value::String(s)) => r.resolve(s)?,
        Some(other) => {
            return Err(r.err("url", format!("a table url must be a string, not {other}")))
        }
        None => return Err(r.err("url", "a table description needs a url")),
    };
    let inherited = parse_inherited(r, obj)?.over(group_inherited);
    let direction = get_direction(r, obj, "tableDirection", &["rtl", "ltr", "auto"])
        .unwrap_or_else(|| group_direction.to_string());
    let suppress_output = get_bool(r, obj, "suppressOutput").unwrap_or(false);
    let (dialect, dialect_given) = match obj.get("dialect") {
        Some(d) => (parse_dialect(r, d)?, true),
        None => match group_dialect {
            Some(d) => (d.clone(), true),
            None => (Dialect::default(), false),
        },
    };
    parse_transformations(r, obj)?;
    let schema_value = obj.get("tableSchema").or(group_schema);
    let (schema, fks) = match schema_value {
        Some(v) => parse_schema(r, v, &inherited, &direction)?,
        None => (
            ParsedSchema {
                schema: Schema::default(),
                inherited_for_undescribed: None,
            },
            Vec::new(),
        ),
    };
    let schema_inherited = schema.inherited_for_undescribed.clone();
    Ok((
        Table {
            url,
            id,
            suppress_output,
            annotations,
            dialect,
            dialect_given,
            schema: schema.schema,
            table_direction: direction,
            inherited: schema_inherited.unwrap_or(inherited),
        },
        fks,
    ))
}

struct ParsedSchema {
    schema: Schema,
    inherited_for_undescribed: Option<Inherited>,
}

fn parse_schema(
    r: &mut Reader<'_>,
    v: &Value,
    parent: &Inherited,
    direction: &str,
) -> Result<(ParsedSchema, Vec<RawForeignKey>)> {
    let (obj, fetched_url) = match v {
        Value::Object(o) => (o.clone(), None),
        Value::String(s) => {
            let (url, o) = fetch_object(r, s)?;
            (o, Some(url))
        }
        other => {
            r.warn(
                "tableSchema",
                format!("tableSchema must be an object or URL, not {other}; using an empty schema"),
            );
            (Map::new(), None)
        }
    };
    // A schema fetched by URL has its own base and context.
    let saved = (r.base.clone(), r.lang.clone(), r.file.clone());
    if let Some(u) = &fetched_url {
        r.base = u.clone();
        r.file = u.to_string();
        read_context(r, &obj, false)?;
    }
    let result = parse_schema_object(r, &obj, parent, direction);
    let (base, lang, file) = saved;
    r.base = base;
    r.lang = lang;
    r.file = file;
    let (mut parsed, fks) = result?;
    if parsed.schema.id.is_none() {
        parsed.schema.id = fetched_url.map(|u| u.to_string());
    }
    Ok((parsed, fks))
}

fn parse_schema_object(
    r: &mut Reader<'_>,
    obj: &Map<String, Value>,
    parent: &Inherited,
    direction: &str,
) -> Result<(ParsedSchema, Vec<RawForeignKey>)> {
    let (id, _common) = check_keys(r, Kind::Schema, obj)?;
    let inherited = parse_inherited(r, obj)?.over(parent);
    let mut columns = Vec::new();
    let mut columns_given = false;
    if let Some(cv) = obj.get("columns") {
        match cv {
            Value::Array(items) => {
                columns_given = true;
                for item in items {
                    let Value::Object(c) = item else {
                        r.warn(
                            "columns",
                            format!("{item} is not a column description; ignored"),
                        );
                        continue;
                    };
                    let number = columns.len() + 1;
                    columns.push(parse_column(r, c, number, &inherited, direction)?);
                }
            }
            other => r.warn(
                "columns",
                format!("columns must be an array, not {other}; ignored"),
            ),
        }
    }
    // Names are unique; virtual columns come last.
    let mut names = HashSet::new();
    let mut seen_virtual = false;
    for c in &columns {
        if !names.insert(c.name.clone()) {
            return Err(r.err("name", format!("two columns are named {:?}", c.name)));
        }
        if c.virtual_ {
            seen_virtual = true;
        } else if seen_virtual {
            return Err(r.err(
                "virtual",
                format!("column {:?} comes after a virtual column", c.name),
            ));
        }
    }
    // Column references reach only columns with an explicit name property.
    let named: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.name_given {
                c.name.clone()
            } else {
                String::new()
            }
        })
        .collect();
    let colref = |r: &mut Reader<'_>, key: &str, v: &Value| -> Option<Vec<usize>> {
        let list: Vec<&Value> = match v {
            Value::String(_) => vec![v],
            Value::Array(a) if !a.is_empty() => a.iter().collect(),
            _ => {
                r.warn(key, format!("{key} {v} is not a column reference; ignored"));
                return None;
            }
        };
        let mut out = Vec::new();
        for item in list {
            let idx = item
                .as_str()
                .filter(|s| !s.is_empty())
                .and_then(|s| named.iter().position(|n| n == s));
            match idx {
                Some(i) => out.push(i),
                None => {
                    r.warn(key, format!("{key} {item} names no column; ignored"));
                    return None;
                }
            }
        }
        Some(out)
    };
    let primary_key = match obj.get("primaryKey") {
        Some(v) => colref(r, "primaryKey", v).unwrap_or_default(),
        None => Vec::new(),
    };
    let row_titles = match obj.get("rowTitles") {
        Some(v) => colref(r, "rowTitles", v).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut fks = Vec::new();
    if let Some(fv) = obj.get("foreignKeys") {
        match fv {
            Value::Array(items) => {
                for item in items {
                    let Value::Object(fk) = item else {
                        r.warn(
                            "foreignKeys",
                            format!("{item} is not a foreign key; ignored"),
                        );
                        continue;
                    };
                    fks.push(parse_foreign_key(r, fk, &named)?);
                }
            }
            other => r.warn(
                "foreignKeys",
                format!("foreignKeys must be an array, not {other}; ignored"),
            ),
        }
    }
    Ok((
        ParsedSchema {
            schema: Schema {
                id,
                columns,
                columns_given,
                primary_key,
                row_titles,
                foreign_keys: Vec::new(),
            },
            inherited_for_undescribed: Some(inherited),
        },
        fks,
    ))
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => {
            a.iter().map(|x| x.as_str().map(String::from)).collect()
        }
        _ => None,
    }
}

fn parse_foreign_key(
    r: &mut Reader<'_>,
    fk: &Map<String, Value>,
    names: &[String],
) -> Result<RawForeignKey> {
    check_keys(r, Kind::ForeignKey, fk)?;
    let columns = fk
        .get("columnReference")
        .and_then(string_list)
        .ok_or_else(|| r.err("foreignKeys", "a foreign key needs a columnReference"))?;
    for c in &columns {
        if c.is_empty() || !names.contains(c) {
            return Err(r.err(
                "foreignKeys",
                format!("foreign key columnReference {c:?} names no column"),
            ));
        }
    }
    let Some(Value::Object(reference)) = fk.get("reference") else {
        return Err(r.err("foreignKeys", "a foreign key needs a reference object"));
    };
    check_keys(r, Kind::Reference, reference)?;
    let resource = match reference.get("resource") {
        Some(Value::String(s)) => Some(r.link(s)?),
        Some(_) => return Err(r.err("foreignKeys", "resource must be a string")),
        None => None,
    };
    let schema_reference = match reference.get("schemaReference") {
        Some(Value::String(s)) => Some(r.link(s)?),
        Some(_) => return Err(r.err("foreignKeys", "schemaReference must be a string")),
        None => None,
    };
    if resource.is_some() == schema_reference.is_some() {
        return Err(r.err(
            "foreignKeys",
            "a reference needs exactly one of resource and schemaReference",
        ));
    }
    let ref_columns = reference
        .get("columnReference")
        .and_then(string_list)
        .ok_or_else(|| r.err("foreignKeys", "a reference needs a columnReference"))?;
    if ref_columns.len() != columns.len() {
        return Err(r.err(
            "foreignKeys",
            "a foreign key must reference as many columns as it has",
        ));
    }
    Ok(RawForeignKey {
        columns,
        resource,
        schema_reference,
        ref_columns,
    })
}

fn resolve_foreign_keys(
    r: &mut Reader<'_>,
    tables: &mut [Table],
    raw: Vec<Vec<RawForeignKey>>,
) -> Result<()> {
    for (ti, fks) in raw.into_iter().enumerate() {
        for fk in fks {
            let target = if let Some(res) = &fk.resource {
                tables.iter().position(|t| t.url.as_str() == res)
            } else {
                let sref = fk.schema_reference.as_deref();
                let found: Vec<usize> = tables
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.schema.id.as_deref() == sref)
                    .map(|(i, _)| i)
                    .collect();
                if found.len() > 1 {
                    return Err(r.err(
                        "foreignKeys",
                        "more than one table uses the referenced schema",
                    ));
                }
                found.first().copied()
            };
            let Some(target) = target else {
                return Err(r.err(
                    "foreignKeys",
                    format!(
                        "the referenced table {} is not in the group",
                        fk.resource
                            .as_deref()
                            .or(fk.schema_reference.as_deref())
                            .unwrap_or("")
                    ),
                ));
            };
            let cols = |t: &Table, names: &[String]| -> Option<Vec<usize>> {
                names
                    .iter()
                    .map(|n| {
                        t.schema
                            .columns
                            .iter()
                            .position(|c| c.name_given && &c.name == n)
                    })
                    .collect()
            };
            let columns = cols(&tables[ti], &fk.columns).ok_or_else(|| {
                r.err("foreignKeys", "foreign key columnReference names no column")
            })?;
            let table_columns = cols(&tables[target], &fk.ref_columns).ok_or_else(|| {
                r.err(
                    "foreignKeys",
                    format!(
                        "the referenced columns {:?} are not in {}",
                        fk.ref_columns, tables[target].url
                    ),
                )
            })?;
            tables[ti].schema.foreign_keys.push(ForeignKey {
                columns,
                table: target,
                table_columns,
            });
        }
    }
    Ok(())
}

/// Column names must be URI template variable names not starting with `_`.
fn valid_column_name(n: &str) -> bool {
    if n.is_empty() || n.starts_with('_') {
        return false;
    }
    let b = n.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else if b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.' {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Percent-encodes a title into a column name (RFC 3986 unreserved characters kept).
pub(crate) fn encode_name(title: &str) -> String {
    let mut out = String::new();
    for b in title.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_titles(r: &mut Reader<'_>, v: &Value) -> Vec<(String, String)> {
    let lang = r.lang.clone().unwrap_or_else(|| "und".into());
    match v {
        Value::String(s) => vec![(lang, s.clone())],
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                match item.as_str() {
                    Some(s) => out.push((lang.clone(), s.to_string())),
                    None => r.warn("titles", format!("title {item} is not a string; ignored")),
                }
            }
            out
        }
        Value::Object(o) => {
            let mut out = Vec::new();
            for (l, vals) in o {
                if !is_language_tag(l) {
                    r.warn("titles", format!("{l:?} is not a language tag; ignored"));
                    continue;
                }
                match vals {
                    Value::String(s) => out.push((l.clone(), s.clone())),
                    Value::Array(a) => {
                        for item in a {
                            match item.as_str() {
                                Some(s) => out.push((l.clone(), s.to_string())),
                                None => r.warn(
                                    "titles",
                                    format!("title {item} is not a string; ignored"),
                                ),
                            }
                        }
                    }
                    other => r.warn("titles", format!("title {other} is not a string; ignored")),
                }
            }
            out
        }
        other => {
            r.warn("titles", format!("titles {other} are not strings; ignored"));
            Vec::new()
        }
    }
}

fn parse_column(
    r: &mut Reader<'_>,
    obj: &Map<String, Value>,
    number: usize,
    parent: &Inherited,
    direction: &str,
) -> Result<Column> {
    let (id, _common) = check_keys(r, Kind::Column, obj)?;
    let inherited = parse_inherited(r, obj)?.over(parent);
    let titles = match obj.get("titles") {
        Some(v) => parse_titles(r, v),
        None => Vec::new(),
    };
    let mut name = None;
    match obj.get("name") {
        Some(Value::String(s)) if valid_column_name(s) => name = Some(s.clone()),
        Some(Value::String(s)) => r.warn(
            "name",
            format!("{s:?} is not a valid column name (URI template variable, not starting with _); ignored"),
        ),
        Some(other) => r.warn("name", format!("name must be a string, not {other}; ignored")),
        None => {}
    }
    let name_given = name.is_some();
    let name = name.unwrap_or_else(|| {
        // The first title in the default language (w3c/csvw#903: no other falls back).
        let lang = r.lang.clone().unwrap_or_else(|| "und".into());
        titles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, t)| encode_name(t))
            .unwrap_or_else(|| format!("_col.{number}"))
    });
    let virtual_ = get_bool(r, obj, "virtual").unwrap_or(false);
    let suppress_output = get_bool(r, obj, "suppressOutput").unwrap_or(false);
    Ok(Column {
        number,
        name,
        name_given,
        titles,
        virtual_,
        suppress_output,
        id,
        props: inherited.props(direction),
    })
}

fn parse_template(
    r: &mut Reader<'_>,
    obj: &Map<String, Value>,
    key: &str,
) -> Option<Arc<UriTemplate>> {
    match obj.get(key)? {
        Value::String(s) => match UriTemplate::parse(s) {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => {
                r.warn(key, format!("{e}; ignored"));
                None
            }
        },
        other => {
            r.warn(key, format!("{key} must be a string, not {other}; ignored"));
            // An invalid value acts as an empty string template.
            UriTemplate::parse("").ok().map(Arc::new)
        }
    }
}

fn parse_inherited(r: &mut Reader<'_>, obj: &Map<String, Value>) -> Result<Inherited> {
    let mut h = Inherited {
        about_url: parse_template(r, obj, "aboutUrl"),
        property_url: parse_template(r, obj, "propertyUrl"),
        value_url: parse_template(r, obj, "valueUrl"),
        ..Default::default()
    };
    if let Some(v) = obj.get("datatype") {
        h.datatype = parse_datatype(r, v)?;
    }
    if let Some(v) = obj.get("default") {
        match v.as_str() {
            Some(s) => h.default = Some(s.to_string()),
            None => r.warn(
                "default",
                format!("default must be a string, not {v}; ignored"),
            ),
        }
    }
    if let Some(v) = obj.get("lang") {
        match v.as_str() {
            Some(s) if is_language_tag(s) => h.lang = Some(s.to_string()),
            _ => r.warn("lang", format!("lang {v} is not a language tag; ignored")),
        }
    }
    if let Some(v) = obj.get("null") {
        match v {
            Value::String(s) => h.null = Some(vec![s.clone()]),
            Value::Array(a) => {
                let mut out = Vec::new();
                for item in a {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => r.warn(
                            "null",
                            format!("null value {item} is not a string; ignored"),
                        ),
                    }
                }
                h.null = Some(out);
            }
            other => r.warn(
                "null",
                format!("null must be a string or array, not {other}; ignored"),
            ),
        }
    }
    h.ordered = get_bool(r, obj, "ordered");
    h.required = get_bool(r, obj, "required");
    if let Some(v) = obj.get("separator") {
        match v {
            Value::String(s) => h.separator = Some(Some(s.clone())),
            Value::Null => h.separator = Some(None),
            other => r.warn(
                "separator",
                format!("separator must be a string or null, not {other}; ignored"),
            ),
        }
    }
    h.text_direction = get_direction(r, obj, "textDirection", &["ltr", "rtl", "auto", "inherit"]);
    Ok(h)
}

fn parse_bound(r: &mut Reader<'_>, base: Base, key: &str, v: &Value) -> Result<Option<Bound>> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => {
            r.warn(
                key,
                format!("{key} must be a number or string, not {other}; ignored"),
            );
            return Ok(None);
        }
    };
    let parsed = if v.is_number() && base.is_numeric() {
        crate::datatype::parse_lexical(&text, Base::Double)
    } else {
        crate::datatype::parse_lexical(&text, base)
    };
    match parsed.ok().and_then(|p| p.ordinal) {
        Some(ordinal) => Ok(Some(Bound { ordinal, text })),
        None => Err(r.err(
            key,
            format!("{key} {text:?} is not a valid {}", base.name()),
        )),
    }
}

/// Parses a `datatype` property; `None` with a warning when it is unusable.
fn parse_datatype(r: &mut Reader<'_>, v: &Value) -> Result<Option<Datatype>> {
    let obj = match v {
        Value::String(s) => {
            return Ok(match Base::from_name(s).filter(|_| !s.contains(':')) {
                Some(b) => Some(Datatype::builtin(b)),
                None => {
                    r.warn(
                        "datatype",
                        format!("{s:?} is not a built-in datatype; using string"),
                    );
                    Some(Datatype::builtin(Base::String))
                }
            });
        }
        Value::Object(o) => o,
        other => {
            r.warn(
                "datatype",
                format!("datatype {other} is not valid; ignored"),
            );
            return Ok(None);
        }
    };
    let (id, _) = check_keys(r, Kind::Datatype, obj)?;
    if let Some(id) = &id {
        if Base::from_name(id).is_some() && id.contains("://") {
            return Err(r.err(
                "datatype",
                format!("a datatype's @id cannot be the built-in datatype {id}"),
            ));
        }
    }
    let base = match obj.get("base") {
        None => Base::String,
        Some(Value::String(s)) => match Base::from_name(s).filter(|_| !s.contains(':')) {
            Some(b) => b,
            None => {
                r.warn(
                    "datatype",
                    format!("base {s:?} is not a built-in datatype; using string"),
                );
                Base::String
            }
        },
        Some(other) => {
            r.warn(
                "datatype",
                format!("base {other} is not valid; using string"),
            );
            Base::String
        }
    };
    let mut dt = Datatype::builtin(base);
    dt.id = id;
    let len = |r: &mut Reader<'_>, key: &str| -> Option<u64> {
        match obj.get(key)? {
            Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
            other => {
                r.warn(
                    key,
                    format!("{key} must be a non-negative integer, not {other}; ignored"),
                );
                None
            }
        }
    };
    dt.length = len(r, "length");
    dt.min_length = len(r, "minLength");
    dt.max_length = len(r, "maxLength");
    if dt.length.is_some() || dt.min_length.is_some() || dt.max_length.is_some() {
        if !(base.is_string_family() || base.is_binary()) {
            return Err(r.err(
                "datatype",
                format!("length constraints cannot apply to {}", base.name()),
            ));
        }
        if let (Some(l), Some(m)) = (dt.length, dt.min_length) {
            if l < m {
                return Err(r.err("datatype", "length is less than minLength"));
            }
        }
        if let (Some(l), Some(m)) = (dt.length, dt.max_length) {
            if l > m {
                return Err(r.err("datatype", "length is more than maxLength"));
            }
        }
        if let (Some(a), Some(b)) = (dt.min_length, dt.max_length) {
            if a > b {
                return Err(r.err("datatype", "minLength is more than maxLength"));
            }
        }
    }
    let bound = |r: &mut Reader<'_>, key: &str| -> Result<Option<Bound>> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => {
                if !(base.is_numeric() || base.is_date_time() || base.is_duration()) {
                    return Err(r.err("datatype", format!("{key} cannot apply to {}", base.name())));
                }
                parse_bound(r, base, key, v)
            }
        }
    };
    let minimum = bound(r, "minimum")?;
    let min_inclusive = bound(r, "minInclusive")?;
    let maximum = bound(r, "maximum")?;
    let max_inclusive = bound(r, "maxInclusive")?;
    let min_exclusive = bound(r, "minExclusive")?;
    let max_exclusive = bound(r, "maxExclusive")?;
    let same = |a: &Option<Bound>, b: &Option<Bound>| match (a, b) {
        (Some(x), Some(y)) => x.ordinal == y.ordinal,
        _ => true,
    };
    if !same(&minimum, &min_inclusive) {
        return Err(r.err("datatype", "minimum and minInclusive differ"));
    }
    if !same(&maximum, &max_inclusive) {
        return Err(r.err("datatype", "maximum and maxInclusive differ"));
    }
    dt.min_inclusive = min_inclusive.or(minimum);
    dt.max_inclusive = max_inclusive.or(maximum);
    dt.min_exclusive = min_exclusive;
    dt.max_exclusive = max_exclusive;
    if dt.min_inclusive.is_some() && dt.min_exclusive.is_some() {
        return Err(r.err("datatype", "both minInclusive and minExclusive are given"));
    }
    if dt.max_inclusive.is_some() && dt.max_exclusive.is_some() {
        return Err(r.err("datatype", "both maxInclusive and maxExclusive are given"));
    }
    let lt =
        |a: &Bound, b: &Bound| a.ordinal.partial_cmp(&b.ordinal) == Some(std::cmp::Ordering::Less);
    let le = |a: &Bound, b: &Bound| {
        matches!(
            a.ordinal.partial_cmp(&b.ordinal),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        )
    };
    if let (Some(lo), Some(hi)) = (&dt.min_inclusive, &dt.max_inclusive) {
        if lt(hi, lo) {
            return Err(r.err("datatype", "maxInclusive is less than minInclusive"));
        }
    }
    if let (Some(lo), Some(hi)) = (&dt.min_inclusive, &dt.max_exclusive) {
        if le(hi, lo) {
            return Err(r.err("datatype", "maxExclusive is not more than minInclusive"));
        }
    }
    if let (Some(lo), Some(hi)) = (&dt.min_exclusive, &dt.max_exclusive) {
        if lt(hi, lo) {
            return Err(r.err("datatype", "maxExclusive is less than minExclusive"));
        }
    }
    if let (Some(lo), Some(hi)) = (&dt.min_exclusive, &dt.max_inclusive) {
        if le(hi, lo) {
            return Err(r.err("datatype", "maxInclusive is not more than minExclusive"));
        }
    }
    if let Some(f) = obj.get("format") {
        dt.format = parse_format(r, base, f)?;
    }
    Ok(Some(dt))
}

fn parse_format(r: &mut Reader<'_>, base: Base, f: &Value) -> Result<Format> {
    if base.is_numeric() {
        let (pattern, dec, grp) = match f {
            Value::String(s) => (Some(s.clone()), ".".to_string(), None),
            Value::Object(o) => {
                let get = |r: &mut Reader<'_>, k: &str| -> Option<String> {
                    match o.get(k)? {
                        Value::String(s) => Some(s.clone()),
                        other => {
                            r.warn(
                                "format",
                                format!("{k} must be a string, not {other}; ignored"),
                            );
                            None
                        }
                    }
                };
                let pattern = get(r, "pattern");
                let dec = get(r, "decimalChar").unwrap_or_else(|| ".".into());
                let grp = get(r, "groupChar");
                (pattern, dec, grp)
            }
            other => {
                r.warn("format", format!("format {other} is not valid; ignored"));
                return Ok(Format::None);
            }
        };
        let pattern = match pattern {
            Some(p) => match NumberPattern::parse(&p, &dec, grp.as_deref().unwrap_or(",")) {
                Ok(p) => Some(p),
                Err(e) => {
                    r.warn("format", format!("{e}; ignored"));
                    None
                }
            },
            None => None,
        };
        // A pattern that groups implies "," as groupChar unless one is given.
        let grp = grp.or_else(|| {
            pattern
                .as_ref()
                .filter(|p| p.source.contains(','))
                .map(|_| ",".to_string())
        });
        return Ok(Format::Number(NumberFormat {
            decimal_char: dec,
            group_char: grp,
            pattern,
        }));
    }
    let Some(s) = f.as_str() else {
        r.warn(
            "format",
            format!("format {f} must be a string here; ignored"),
        );
        return Ok(Format::None);
    };
    if base == Base::Boolean {
        let parts: Vec<&str> = s.split('|').collect();
        if parts.len() == 2 && !parts[0].is_empty() && !parts[1].is_empty() {
            return Ok(Format::Boolean(parts[0].into(), parts[1].into()));
        }
        r.warn(
            "format",
            format!("boolean format {s:?} is not \"true|false\" style; ignored"),
        );
        return Ok(Format::None);
    }
    if base.is_date_time() {
        return Ok(match DatePattern::parse(s, base) {
            Ok(p) => Format::DateTime(p),
            Err(e) => {
                r.warn("format", format!("{e}; ignored"));
                Format::None
            }
        });
    }
    match Regex::new(s) {
        Ok(re) => Ok(Format::Regex(re)),
        Err(e) => {
            r.warn(
                "format",
                format!("format {s:?} is not a valid regular expression: {e}; ignored"),
            );
            Ok(Format::None)
        }
    }
}

fn parse_dialect(r: &mut Reader<'_>, v: &Value) -> Result<Dialect> {
    let obj = match v {
        Value::Object(o) => o.clone(),
        Value::String(s) => {
            let (url, o) = fetch_object(r, s)?;
            let saved = (r.base.clone(), r.lang.clone());
            r.base = url;
            read_context(r, &o, false)?;
            let d = parse_dialect_object(r, &o);
            r.base = saved.0;
            r.lang = saved.1;
            return d;
        }
        other => {
            r.warn(
                "dialect",
                format!("dialect {other} is not an object; ignored"),
            );
            Map::new()
        }
    };
    parse_dialect_object(r, &obj)
}

fn parse_dialect_object(r: &mut Reader<'_>, obj: &Map<String, Value>) -> Result<Dialect> {
    check_keys(r, Kind::Dialect, obj)?;
    let mut d = Dialect::default();
    let string = |r: &mut Reader<'_>, k: &str| -> Option<Option<String>> {
        match obj.get(k)? {
            Value::String(s) => Some(Some(s.clone())),
            Value::Null => Some(None),
            other => {
                r.warn(
                    k,
                    format!("dialect {k} must be a string, not {other}; ignored"),
                );
                None
            }
        }
    };
    let uint = |r: &mut Reader<'_>, k: &str| -> Option<usize> {
        match obj.get(k)? {
            Value::Number(n) if n.as_u64().is_some() => n.as_u64().map(|n| n as usize),
            other => {
                r.warn(
                    k,
                    format!("dialect {k} must be a non-negative integer, not {other}; ignored"),
                );
                None
            }
        }
    };
    if let Some(Some(p)) = string(r, "commentPrefix") {
        d.comment_prefix = Some(p);
    } else if obj.get("commentPrefix") == Some(&Value::Null) {
        d.comment_prefix = None;
    }
    if let Some(Some(s)) = string(r, "delimiter") {
        if s.is_empty() {
            r.warn("delimiter", "dialect delimiter cannot be empty; ignored");
        } else {
            d.delimiter = s;
        }
    }
    if let Some(b) = get_bool(r, obj, "doubleQuote") {
        d.double_quote = b;
    }
    if let Some(Some(e)) = string(r, "encoding") {
        if encoding_rs::Encoding::for_label(e.as_bytes()).is_some() {
            d.encoding = e;
        } else {
            r.warn(
                "encoding",
                format!("{e:?} is not a known encoding; using utf-8"),
            );
        }
    }
    let header = get_bool(r, obj, "header");
    let hrc = uint(r, "headerRowCount");
    if let Some(h) = hrc {
        d.header_row_count = h;
    } else if let Some(h) = header {
        d.header_row_count = usize::from(h);
    }
    if let Some(v) = obj.get("lineTerminators") {
        match v {
            Value::String(s) => d.line_terminators = vec![s.clone()],
            Value::Array(a) if a.iter().all(Value::is_string) => {
                d.line_terminators = a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            }
            other => r.warn(
                "lineTerminators",
                format!(
                    "lineTerminators must be a string or array of strings, not {other}; ignored"
                ),
            ),
        }
    }
    match obj.get("quoteChar") {
        Some(Value::Null) => d.quote_char = None,
        Some(Value::String(s)) if !s.is_empty() => d.quote_char = Some(s.clone()),
        Some(other) => r.warn(
            "quoteChar",
            format!("quoteChar must be a string or null, not {other}; ignored"),
        ),
        None => {}
    }
    if let Some(b) = get_bool(r, obj, "skipBlankRows") {
        d.skip_blank_rows = b;
    }
    if let Some(n) = uint(r, "skipColumns") {
        d.skip_columns = n;
    }
    if let Some(n) = uint(r, "skipRows") {
        d.skip_rows = n;
    }
    let sis = get_bool(r, obj, "skipInitialSpace");
    match obj.get("trim") {
        Some(Value::Bool(true)) => d.trim = Trim::Both,
        Some(Value::Bool(false)) => d.trim = Trim::None,
        Some(Value::String(s)) if s == "true" => d.trim = Trim::Both,
        Some(Value::String(s)) if s == "false" => d.trim = Trim::None,
        Some(Value::String(s)) if s == "start" => d.trim = Trim::Start,
        Some(Value::String(s)) if s == "end" => d.trim = Trim::End,
        Some(other) => {
            r.warn(
                "trim",
                format!("trim must be true, false, \"start\" or \"end\", not {other}; ignored"),
            );
            if let Some(s) = sis {
                d.trim = if s { Trim::Start } else { Trim::None };
            }
        }
        None => {
            if let Some(s) = sis {
                d.trim = if s { Trim::Start } else { Trim::None };
            }
        }
    }
    Ok(d)
}

/// The absolute IRI of a common property name.
pub fn property_iri(key: &str) -> String {
    expand_term(key).unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        assert!(is_language_tag("en"));
        assert!(is_language_tag("en-GB"));
        assert!(is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("notavalidlanguagetag"));
        assert!(!is_language_tag("a-bad-language"));
    }

    #[test]
    fn column_names() {
        assert!(valid_column_name("GID"));
        assert!(valid_column_name("on%20street"));
        assert!(!valid_column_name("_GID"));
        assert!(!valid_column_name("G I D"));
        assert_eq!(encode_name("On Street"), "On%20Street");
        assert_eq!(encode_name("d-M-yyyy"), "d%2DM%2Dyyyy");
    }

    #[test]
    fn common_properties() {
        assert!(is_common_property("dc:title"));
        assert!(is_common_property("http://example.org/p"));
        assert!(!is_common_property("title"));
        assert!(!is_common_property("dc"));
    }
}
