//! Built-in datatypes, their lexical spaces, formats (numbers, booleans, dates and times,
//! regular expressions) and value constraints — tabular-data-model §4.6 and §6.4,
//! tabular-metadata §5.11.

use crate::context::{CSVW, RDF, XSD};
use regex::Regex;

/// The built-in datatypes of tabular-metadata §5.11.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    AnyAtomicType,
    AnyUri,
    Base64Binary,
    Boolean,
    Date,
    DateTime,
    DateTimeStamp,
    Decimal,
    Integer,
    Long,
    Int,
    Short,
    Byte,
    NonNegativeInteger,
    PositiveInteger,
    UnsignedLong,
    UnsignedInt,
    UnsignedShort,
    UnsignedByte,
    NonPositiveInteger,
    NegativeInteger,
    Double,
    Float,
    Duration,
    DayTimeDuration,
    YearMonthDuration,
    GDay,
    GMonth,
    GMonthDay,
    GYear,
    GYearMonth,
    HexBinary,
    QName,
    String,
    NormalizedString,
    Token,
    Language,
    Name,
    NCName,
    NMToken,
    Id,
    IdRef,
    Entity,
    Xml,
    Html,
    Json,
    Time,
}

const NAMES: &[(&str, Base)] = &[
    ("anyAtomicType", Base::AnyAtomicType),
    ("any", Base::AnyAtomicType),
    ("anyURI", Base::AnyUri),
    ("base64Binary", Base::Base64Binary),
    ("binary", Base::Base64Binary),
    ("boolean", Base::Boolean),
    ("date", Base::Date),
    ("dateTime", Base::DateTime),
    ("datetime", Base::DateTime),
    ("dateTimeStamp", Base::DateTimeStamp),
    ("decimal", Base::Decimal),
    ("integer", Base::Integer),
    ("long", Base::Long),
    ("int", Base::Int),
    ("short", Base::Short),
    ("byte", Base::Byte),
    ("nonNegativeInteger", Base::NonNegativeInteger),
    ("positiveInteger", Base::PositiveInteger),
    ("unsignedLong", Base::UnsignedLong),
    ("unsignedInt", Base::UnsignedInt),
    ("unsignedShort", Base::UnsignedShort),
    ("unsignedByte", Base::UnsignedByte),
    ("nonPositiveInteger", Base::NonPositiveInteger),
    ("negativeInteger", Base::NegativeInteger),
    ("double", Base::Double),
    ("number", Base::Double),
    ("float", Base::Float),
    ("duration", Base::Duration),
    ("dayTimeDuration", Base::DayTimeDuration),
    ("yearMonthDuration", Base::YearMonthDuration),
    ("gDay", Base::GDay),
    ("gMonth", Base::GMonth),
    ("gMonthDay", Base::GMonthDay),
    ("gYear", Base::GYear),
    ("gYearMonth", Base::GYearMonth),
    ("hexBinary", Base::HexBinary),
    ("QName", Base::QName),
    ("string", Base::String),
    ("normalizedString", Base::NormalizedString),
    ("token", Base::Token),
    ("language", Base::Language),
    ("Name", Base::Name),
    ("NCName", Base::NCName),
    ("NMTOKEN", Base::NMToken),
    ("ID", Base::Id),
    ("IDREF", Base::IdRef),
    ("ENTITY", Base::Entity),
    ("xml", Base::Xml),
    ("html", Base::Html),
    ("json", Base::Json),
    ("time", Base::Time),
];

impl Base {
    /// Looks a datatype up by its name in the CSVW context, or by its absolute IRI.
    pub fn from_name(name: &str) -> Option<Base> {
        if let Some((_, b)) = NAMES.iter().find(|(n, _)| *n == name) {
            return Some(*b);
        }
        NAMES.iter().find(|(_, b)| b.iri() == name).map(|(_, b)| *b)
    }

    /// The canonical name (as the metadata vocabulary spells it).
    pub fn name(self) -> &'static str {
        match self {
            Base::AnyAtomicType => "anyAtomicType",
            Base::Base64Binary => "base64Binary",
            Base::DateTime => "dateTime",
            Base::Double => "double",
            _ => NAMES
                .iter()
                .find(|(_, b)| *b == self)
                .map(|(n, _)| *n)
                .unwrap_or("string"),
        }
    }

    /// The RDF datatype IRI.
    pub fn iri(self) -> String {
        match self {
            Base::Xml => format!("{RDF}XMLLiteral"),
            Base::Html => format!("{RDF}HTML"),
            Base::Json => format!("{CSVW}JSON"),
            _ => format!("{XSD}{}", self.name()),
        }
    }

    pub fn is_numeric(self) -> bool {
        self.is_integer() || matches!(self, Base::Decimal | Base::Double | Base::Float)
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Base::Integer
                | Base::Long
                | Base::Int
                | Base::Short
                | Base::Byte
                | Base::NonNegativeInteger
                | Base::PositiveInteger
                | Base::UnsignedLong
                | Base::UnsignedInt
                | Base::UnsignedShort
                | Base::UnsignedByte
                | Base::NonPositiveInteger
                | Base::NegativeInteger
        )
    }

    /// Decimal or one of its sub-types (integers included).
    pub fn is_decimal_family(self) -> bool {
        self.is_integer() || self == Base::Decimal
    }

    pub fn is_date_time(self) -> bool {
        matches!(
            self,
            Base::Date
                | Base::DateTime
                | Base::DateTimeStamp
                | Base::Time
                | Base::GDay
                | Base::GMonth
                | Base::GMonthDay
                | Base::GYear
                | Base::GYearMonth
        )
    }

    pub fn is_duration(self) -> bool {
        matches!(
            self,
            Base::Duration | Base::DayTimeDuration | Base::YearMonthDuration
        )
    }

    /// String or a sub-type of string.
    pub fn is_string_family(self) -> bool {
        matches!(
            self,
            Base::String
                | Base::NormalizedString
                | Base::Token
                | Base::Language
                | Base::Name
                | Base::NCName
                | Base::NMToken
                | Base::Id
                | Base::IdRef
                | Base::Entity
                | Base::Xml
                | Base::Html
                | Base::Json
        )
    }

    pub fn is_binary(self) -> bool {
        matches!(self, Base::Base64Binary | Base::HexBinary)
    }

    /// Whitespace is kept as is (tabular-data-model §6.4 steps 1 and 2).
    pub fn keeps_whitespace(self) -> bool {
        matches!(
            self,
            Base::String | Base::Json | Base::Xml | Base::Html | Base::AnyAtomicType
        )
    }

    /// Values of this type are JSON numbers in csv2json.
    pub fn is_json_number(self) -> bool {
        self.is_numeric()
    }
}

/// A value that can be compared with the bounds of a datatype.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Ordinal {
    Number(f64),
    /// Seconds from 0001-01-01 (timezone applied when present).
    Instant(f64),
    /// Months and seconds.
    Duration(f64, f64),
}

impl Ordinal {
    fn partial_cmp_with(&self, other: &Ordinal) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Ordinal::Number(a), Ordinal::Number(b)) => a.partial_cmp(b),
            (Ordinal::Instant(a), Ordinal::Instant(b)) => a.partial_cmp(b),
            (Ordinal::Duration(am, asec), Ordinal::Duration(bm, bsec)) => {
                let a = am * 30.436875 * 86400.0 + asec;
                let b = bm * 30.436875 * 86400.0 + bsec;
                a.partial_cmp(&b)
            }
            _ => None,
        }
    }
}

/// A parsed value: its lexical form in the target datatype and what is needed to compare it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The XSD lexical form (the source text when it was already one).
    pub lexical: String,
    /// For comparing with bounds: left out (`None`) of a decimal with a number format when its
    /// datatype has no bounds.
    pub ordinal: Option<Ordinal>,
    /// For booleans.
    pub boolean: Option<bool>,
}

impl Parsed {
    fn text(s: impl Into<String>) -> Self {
        Parsed {
            lexical: s.into(),
            ordinal: None,
            boolean: None,
        }
    }
}

/// The format annotation of a datatype, parsed.
#[derive(Debug, Clone)]
pub enum Format {
    None,
    Regex(Regex),
    Number(NumberFormat),
    Boolean(String, String),
    DateTime(DatePattern),
}

/// A bound on values (minimum, maximum…), with the source text for messages.
#[derive(Debug, Clone)]
pub struct Bound {
    pub ordinal: Ordinal,
    pub text: String,
}

/// A datatype description, normalized.
#[derive(Debug, Clone)]
pub struct Datatype {
    pub base: Base,
    /// `@id` of a derived datatype: used as the RDF datatype IRI.
    pub id: Option<String>,
    pub format: Format,
    pub length: Option<u64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_inclusive: Option<Bound>,
    pub max_inclusive: Option<Bound>,
    pub min_exclusive: Option<Bound>,
    pub max_exclusive: Option<Bound>,
}

impl Datatype {
    pub fn builtin(base: Base) -> Self {
        Datatype {
            base,
            id: None,
            format: Format::None,
            length: None,
            min_length: None,
            max_length: None,
            min_inclusive: None,
            max_inclusive: None,
            min_exclusive: None,
            max_exclusive: None,
        }
    }

    /// The RDF datatype IRI of values of this type.
    pub fn iri(&self) -> String {
        self.id.clone().unwrap_or_else(|| self.base.iri())
    }

    /// Parses one (already whitespace-normalized) string into a value, or says why not.
    pub fn parse(&self, s: &str) -> Result<Parsed, String> {
        self.parse_reusing(s, String::new())
    }

    /// [`Self::parse`], writing the lexical form into `buf` (cleared first) where it can: a
    /// row after row caller passes the last value's buffer and allocates nothing. Inlined,
    /// with the parsers it calls on every cell: a `Parsed` returned through the stack was
    /// read back with a stall at each step.
    #[inline]
    pub fn parse_reusing(&self, s: &str, mut buf: String) -> Result<Parsed, String> {
        let parsed = match &self.format {
            Format::Number(nf) if self.base.is_numeric() => nf
                .parse_plain(s, self.base, buf, self.has_bounds())
                .unwrap_or_else(|| nf.parse_any(s, self.base))?,
            Format::Boolean(t, f) if self.base == Base::Boolean => {
                let boolean = if s == t {
                    true
                } else if s == f {
                    false
                } else {
                    return Err(format!("is neither {t:?} nor {f:?}"));
                };
                buf.clear();
                buf.push_str(if boolean { "true" } else { "false" });
                Parsed {
                    lexical: buf,
                    ordinal: None,
                    boolean: Some(boolean),
                }
            }
            Format::DateTime(p) if self.base.is_date_time() => {
                p.parse_value_reusing(s, self.base, buf)?
            }
            Format::Regex(re) => {
                if !re.is_match(s) {
                    return Err(format!("does not match the format {:?}", re.as_str()));
                }
                parse_lexical_reusing(s, self.base, buf)?
            }
            _ => parse_lexical_reusing(s, self.base, buf)?,
        };
        Ok(parsed)
    }

    /// Whether values are compared with bounds (minimum, maximum…): only then is a parsed
    /// value's ordinal needed.
    fn has_bounds(&self) -> bool {
        self.min_inclusive.is_some()
            || self.max_inclusive.is_some()
            || self.min_exclusive.is_some()
            || self.max_exclusive.is_some()
    }

    /// Checks length and value constraints; returns the broken rule and a message.
    pub fn check_constraints(&self, source: &str, v: &Parsed) -> Option<(&'static str, String)> {
        if self.length.is_some() || self.min_length.is_some() || self.max_length.is_some() {
            let len = value_length(self.base, &v.lexical, source);
            if let Some(l) = self.length {
                if len != l {
                    return Some(("length", format!("has length {len}, not {l}")));
                }
            }
            if let Some(l) = self.min_length {
                if len < l {
                    return Some(("minLength", format!("has length {len}, less than {l}")));
                }
            }
            if let Some(l) = self.max_length {
                if len > l {
                    return Some(("maxLength", format!("has length {len}, more than {l}")));
                }
            }
        }
        if let Some(o) = &v.ordinal {
            use std::cmp::Ordering::*;
            if let Some(b) = &self.min_inclusive {
                if o.partial_cmp_with(&b.ordinal) == Some(Less) {
                    return Some(("minimum", format!("is less than the minimum {}", b.text)));
                }
            }
            if let Some(b) = &self.max_inclusive {
                if o.partial_cmp_with(&b.ordinal) == Some(Greater) {
                    return Some(("maximum", format!("is more than the maximum {}", b.text)));
                }
            }
            if let Some(b) = &self.min_exclusive {
                if matches!(o.partial_cmp_with(&b.ordinal), Some(Less | Equal)) {
                    return Some((
                        "minExclusive",
                        format!("is not more than the exclusive minimum {}", b.text),
                    ));
                }
            }
            if let Some(b) = &self.max_exclusive {
                if matches!(o.partial_cmp_with(&b.ordinal), Some(Greater | Equal)) {
                    return Some((
                        "maxExclusive",
                        format!("is not less than the exclusive maximum {}", b.text),
                    ));
                }
            }
        }
        None
    }
}

fn value_length(base: Base, lexical: &str, source: &str) -> u64 {
    match base {
        Base::HexBinary => (lexical.len() / 2) as u64,
        Base::Base64Binary => {
            let clean: Vec<u8> = lexical
                .bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let pad = clean.iter().rev().take_while(|b| **b == b'=').count();
            ((clean.len() / 4) * 3).saturating_sub(pad) as u64
        }
        _ => {
            let _ = source;
            lexical.chars().count() as u64
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexical spaces (XML Schema 1.1 Part 2)

macro_rules! re {
    ($name:ident, $pat:expr) => {
        fn $name() -> &'static Regex {
            static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
            R.get_or_init(|| Regex::new($pat).expect("static regex"))
        }
    };
}

// Integers, decimals, dates and date-times are most cells of council files: they are read
// by hand rather than by regular expression (the tests below hold them to the expressions).

/// `[+-]?[0-9]+`
fn is_integer_lexical(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)`
fn is_decimal_lexical(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    // By the byte: `split_once('.')` compared each match through `memcmp`.
    let (int, frac) = match d.bytes().position(|b| b == b'.') {
        Some(i) => (&d[..i], Some(&d[i + 1..])),
        None => (d, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
}

/// Two ASCII digits at the start of `b`.
fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [x, y, ..] if x.is_ascii_digit() && y.is_ascii_digit() => {
            Some(u32::from(x - b'0') * 10 + u32::from(y - b'0'))
        }
        _ => None,
    }
}

type YearMonthDay = (Option<i64>, Option<u32>, Option<u32>);

/// `-?[0-9]{4,}-[0-9]{2}-[0-9]{2}` at the start of `s`, and what follows it.
fn split_date(s: &str) -> Option<(YearMonthDay, &str)> {
    let b = s.as_bytes();
    let start = usize::from(b.first() == Some(&b'-'));
    let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits < 4 {
        return None;
    }
    let end = start + digits;
    // The year may overflow i64: then, like the expression's captures, it is unknown.
    let year = s[..end].parse().ok();
    let rest = &b[end..];
    if rest.first() != Some(&b'-') || rest.get(3) != Some(&b'-') {
        return None;
    }
    let month = two_digits(&rest[1..])?;
    let day = two_digits(&rest[4..])?;
    Some(((year, Some(month), Some(day)), &s[end + 6..]))
}

type TimeParts = (Option<u32>, Option<u32>, Option<u32>, Option<String>);

/// `[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?` then a timezone or nothing: the whole of `s`.
fn split_time(s: &str) -> Option<(TimeParts, Option<String>)> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (two_digits(b)?, two_digits(&b[3..])?, two_digits(&b[6..])?);
    let mut end = 8;
    let mut fraction = None;
    if b.get(8) == Some(&b'.') {
        let n = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        end = 9 + n;
        fraction = Some(s[9..end].to_string());
    }
    Some(((Some(h), Some(m), Some(sec), fraction), zone_of(&s[end..])?))
}

/// `(Z|[+-][0-9]{2}:[0-9]{2})?` as the whole of `s`: the zone, if any; None if it is not one.
fn zone_of(s: &str) -> Option<Option<String>> {
    let b = s.as_bytes();
    let ok = match b {
        [] => return Some(None),
        [b'Z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => {
            two_digits(&b[1..]).is_some() && two_digits(&b[4..]).is_some()
        }
        _ => false,
    };
    ok.then(|| Some(s.to_string()))
}
re!(
    re_double,
    r"^([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)$"
);
re!(
    re_duration,
    r"^-?P(([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?)$"
);
re!(re_hex, r"^([0-9a-fA-F]{2})*$");
re!(
    re_base64,
    r"^((([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){3}[A-Za-z0-9+/]|([A-Za-z0-9+/] ?){2}[AEIMQUYcgkosw048] ?=|[A-Za-z0-9+/] ?[AQgw] ?= ?=))?$"
);
re!(re_language, r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$");
re!(re_name, r"^[\p{L}_:][\p{L}\p{N}._:\-\p{Mn}\p{Mc}·]*$");
re!(re_ncname, r"^[\p{L}_][\p{L}\p{N}._\-\p{Mn}\p{Mc}·]*$");
re!(re_nmtoken, r"^[\p{L}\p{N}._:\-\p{Mn}\p{Mc}·]+$");
re!(
    re_qname,
    r"^([\p{L}_][\p{L}\p{N}._\-\p{Mn}\p{Mc}·]*:)?[\p{L}_][\p{L}\p{N}._\-\p{Mn}\p{Mc}·]*$"
);
re!(
    re_time,
    r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
);
re!(re_gyear, r"^(-?[0-9]{4,})(Z|[+-][0-9]{2}:[0-9]{2})?$");
re!(
    re_gyearmonth,
    r"^(-?[0-9]{4,})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$"
);
re!(re_gmonth, r"^--([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$");
re!(
    re_gmonthday,
    r"^--([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$"
);
re!(re_gday, r"^---([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$");

fn integer_range(base: Base) -> (Option<i128>, Option<i128>) {
    match base {
        Base::Long => (Some(i64::MIN as i128), Some(i64::MAX as i128)),
        Base::Int => (Some(i32::MIN as i128), Some(i32::MAX as i128)),
        Base::Short => (Some(i16::MIN as i128), Some(i16::MAX as i128)),
        Base::Byte => (Some(i8::MIN as i128), Some(i8::MAX as i128)),
        Base::NonNegativeInteger => (Some(0), None),
        Base::PositiveInteger => (Some(1), None),
        Base::UnsignedLong => (Some(0), Some(u64::MAX as i128)),
        Base::UnsignedInt => (Some(0), Some(u32::MAX as i128)),
        Base::UnsignedShort => (Some(0), Some(u16::MAX as i128)),
        Base::UnsignedByte => (Some(0), Some(u8::MAX as i128)),
        Base::NonPositiveInteger => (None, Some(0)),
        Base::NegativeInteger => (None, Some(-1)),
        _ => (None, None),
    }
}

fn check_integer_range(lexical: &str, base: Base) -> Result<f64, String> {
    let (min, max) = integer_range(base);
    let digits = lexical
        .trim_start_matches(['+', '-'])
        .trim_start_matches('0');
    let negative = lexical.starts_with('-') && !digits.is_empty();
    let value: Option<i128> = if digits.len() > 38 {
        None
    } else if digits.is_empty() {
        Some(0)
    } else {
        digits
            .parse::<i128>()
            .ok()
            .map(|v| if negative { -v } else { v })
    };
    match value {
        Some(v) => {
            if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                return Err(format!("is out of the range of {}", base.name()));
            }
            Ok(v as f64)
        }
        None => {
            // Beyond i128: only unbounded types on the right side accept it.
            let ok = if negative {
                min.is_none()
            } else {
                max.is_none()
            };
            if !ok {
                return Err(format!("is out of the range of {}", base.name()));
            }
            Ok(lexical
                .parse::<f64>()
                .unwrap_or(if negative { f64::MIN } else { f64::MAX }))
        }
    }
}

fn parse_tz(tz: Option<&str>) -> Result<Option<i32>, String> {
    match tz {
        None | Some("") => Ok(None),
        Some("Z") => Ok(Some(0)),
        Some(t) => {
            let sign = if t.starts_with('-') { -1 } else { 1 };
            let h: i32 = t[1..3].parse().map_err(|_| "bad timezone".to_string())?;
            let m: i32 = t[4..6].parse().map_err(|_| "bad timezone".to_string())?;
            if h > 14 || m > 59 || (h == 14 && m > 0) {
                return Err("has an out-of-range timezone".into());
            }
            Ok(Some(sign * (h * 60 + m)))
        }
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Components of a date/time value.
#[derive(Debug, Clone, Default)]
struct Dt {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u32>,
    minute: Option<u32>,
    second: Option<u32>,
    fraction: Option<String>,
    tz: Option<i32>,
}

impl Dt {
    fn validate(&self) -> Result<(), String> {
        if let Some(m) = self.month {
            if !(1..=12).contains(&m) {
                return Err(format!("has month {m}, out of range"));
            }
            if let Some(d) = self.day {
                let max = days_in_month(self.year.unwrap_or(2000), m);
                if d < 1 || d > max {
                    return Err(format!("has day {d}, out of range for month {m}"));
                }
            }
        } else if let Some(d) = self.day {
            if !(1..=31).contains(&d) {
                return Err(format!("has day {d}, out of range"));
            }
        }
        if let Some(h) = self.hour {
            let end_of_day =
                h == 24 && self.minute == Some(0) && self.second.unwrap_or(0) == 0 && {
                    self.fraction
                        .as_deref()
                        .is_none_or(|f| f.chars().all(|c| c == '0'))
                };
            if h > 23 && !end_of_day {
                return Err(format!("has hour {h}, out of range"));
            }
        }
        if self.minute.is_some_and(|m| m > 59) {
            return Err("has minutes out of range".into());
        }
        if self.second.is_some_and(|s| s > 59) {
            return Err("has seconds out of range".into());
        }
        Ok(())
    }

    fn ordinal(&self) -> Ordinal {
        let days = days_from_civil(
            self.year.unwrap_or(1972),
            self.month.unwrap_or(1),
            self.day.unwrap_or(1),
        ) as f64;
        let frac: f64 = self
            .fraction
            .as_deref()
            .map(|f| format!("0.{f}").parse().unwrap_or(0.0))
            .unwrap_or(0.0);
        let secs = days * 86400.0
            + self.hour.unwrap_or(0) as f64 * 3600.0
            + self.minute.unwrap_or(0) as f64 * 60.0
            + self.second.unwrap_or(0) as f64
            + frac
            - self.tz.unwrap_or(0) as f64 * 60.0;
        Ordinal::Instant(secs)
    }

    fn push_tz(&self, s: &mut String) {
        match self.tz {
            None => {}
            Some(0) => s.push('Z'),
            Some(t) => {
                s.push(if t < 0 { '-' } else { '+' });
                let t = t.unsigned_abs();
                push_padded(s, u64::from(t / 60), 2);
                s.push(':');
                push_padded(s, u64::from(t % 60), 2);
            }
        }
    }

    fn push_year(&self, s: &mut String) {
        let y = self.year.unwrap_or(0);
        if y < 0 {
            s.push('-');
        }
        push_padded(s, y.unsigned_abs(), 4);
    }

    fn push_time(&self, s: &mut String) {
        push_padded(s, u64::from(self.hour.unwrap_or(0)), 2);
        s.push(':');
        push_padded(s, u64::from(self.minute.unwrap_or(0)), 2);
        s.push(':');
        push_padded(s, u64::from(self.second.unwrap_or(0)), 2);
        if let Some(f) = &self.fraction {
            s.push('.');
            s.push_str(f);
        }
    }

    /// The XSD lexical form, written into one string (most cells of a council file are
    /// dates: this is on every row).
    #[cfg(test)]
    fn lexical(&self, base: Base) -> String {
        let mut s = String::new();
        self.lexical_into(base, &mut s);
        s
    }

    /// Writes the lexical form in `base` into `s` (cleared first).
    fn lexical_into(&self, base: Base, s: &mut String) {
        s.clear();
        s.reserve(32);
        let month = |s: &mut String| push_padded(s, u64::from(self.month.unwrap_or(1)), 2);
        let day = |s: &mut String| push_padded(s, u64::from(self.day.unwrap_or(1)), 2);
        match base {
            Base::Date => {
                self.push_year(s);
                s.push('-');
                month(s);
                s.push('-');
                day(s);
            }
            Base::Time => self.push_time(s),
            Base::GYear => self.push_year(s),
            Base::GYearMonth => {
                self.push_year(s);
                s.push('-');
                month(s);
            }
            Base::GMonth => {
                s.push_str("--");
                month(s);
            }
            Base::GMonthDay => {
                s.push_str("--");
                month(s);
                s.push('-');
                day(s);
            }
            Base::GDay => {
                s.push_str("---");
                day(s);
            }
            _ => {
                self.push_year(s);
                s.push('-');
                month(s);
                s.push('-');
                day(s);
                s.push('T');
                self.push_time(s);
            }
        }
        self.push_tz(s);
    }
}

/// `v` in decimal, with leading zeros to `width` digits (as `{v:0width$}` writes it).
pub(crate) fn push_padded(s: &mut String, v: u64, width: usize) {
    let mut digits = [0u8; 20];
    let (mut n, mut x) = (0, v);
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    for _ in n..width {
        s.push('0');
    }
    for &d in digits[..n].iter().rev() {
        s.push(char::from(d));
    }
}

fn num<T: std::str::FromStr>(s: Option<regex::Match<'_>>) -> Option<T> {
    s.and_then(|m| m.as_str().parse().ok())
}

/// [`parse_lexical`] of a string the caller owns: numbers keep it as their lexical form
/// instead of copying it.
fn parse_lexical_owned(s: String, base: Base) -> Result<Parsed, String> {
    let ordinal = if base.is_integer() || base == Base::Integer {
        if !is_integer_lexical(&s) {
            return Err(format!("is not a valid {}", base.name()));
        }
        check_integer_range(&s, base)?
    } else if base == Base::Decimal {
        if !is_decimal_lexical(&s) {
            return Err(format!("is not a valid {}", base.name()));
        }
        s.parse().unwrap_or(0.0)
    } else {
        return parse_lexical(&s, base);
    };
    Ok(Parsed {
        lexical: s,
        ordinal: Some(Ordinal::Number(ordinal)),
        boolean: None,
    })
}

/// [`parse_lexical`], an integer or decimal (a copy of `s`) written into `buf`.
#[inline]
fn parse_lexical_reusing(s: &str, base: Base, mut buf: String) -> Result<Parsed, String> {
    if base.is_integer() || base == Base::Integer || base == Base::Decimal {
        buf.clear();
        buf.push_str(s);
        parse_lexical_owned(buf, base)
    } else {
        parse_lexical(s, base)
    }
}

/// Parses a string in the XSD lexical space of `base`.
pub fn parse_lexical(s: &str, base: Base) -> Result<Parsed, String> {
    let bad = || format!("is not a valid {}", base.name());
    if base.is_integer() || base == Base::Integer {
        if !is_integer_lexical(s) {
            return Err(bad());
        }
        let v = check_integer_range(s, base)?;
        return Ok(Parsed {
            lexical: s.to_string(),
            ordinal: Some(Ordinal::Number(v)),
            boolean: None,
        });
    }
    match base {
        Base::Decimal => {
            if !is_decimal_lexical(s) {
                return Err(bad());
            }
            Ok(Parsed {
                lexical: s.to_string(),
                ordinal: Some(Ordinal::Number(s.parse().unwrap_or(0.0))),
                boolean: None,
            })
        }
        Base::Double | Base::Float => {
            if !re_double().is_match(s) {
                return Err(bad());
            }
            let v = match s.trim_start_matches('+') {
                "INF" => f64::INFINITY,
                "-INF" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                t => t.parse().unwrap_or(0.0),
            };
            Ok(Parsed {
                lexical: s.to_string(),
                ordinal: Some(Ordinal::Number(v)),
                boolean: None,
            })
        }
        Base::Boolean => match s {
            "true" | "1" => Ok(Parsed {
                lexical: "true".to_string(),
                ordinal: None,
                boolean: Some(true),
            }),
            "false" | "0" => Ok(Parsed {
                lexical: "false".to_string(),
                ordinal: None,
                boolean: Some(false),
            }),
            _ => Err(bad()),
        },
        Base::Duration | Base::DayTimeDuration | Base::YearMonthDuration => {
            let c = re_duration().captures(s).ok_or_else(bad)?;
            let body = c.get(1).map(|m| m.as_str()).unwrap_or("");
            if body.is_empty() || body.ends_with('T') {
                return Err(bad());
            }
            let has_ym = c.get(2).is_some() || c.get(3).is_some();
            let has_dt = c.get(4).is_some() || c.get(5).is_some();
            if (base == Base::DayTimeDuration && has_ym)
                || (base == Base::YearMonthDuration && has_dt)
            {
                return Err(bad());
            }
            let n = |i: usize| -> f64 {
                c.get(i)
                    .map(|m| {
                        let t = m.as_str();
                        t[..t.len() - 1].parse().unwrap_or(0.0)
                    })
                    .unwrap_or(0.0)
            };
            let sign = if s.starts_with('-') { -1.0 } else { 1.0 };
            let months = sign * (n(2) * 12.0 + n(3));
            let secs = sign * (n(4) * 86400.0 + n(6) * 3600.0 + n(7) * 60.0 + n(8));
            Ok(Parsed {
                lexical: s.to_string(),
                ordinal: Some(Ordinal::Duration(months, secs)),
                boolean: None,
            })
        }
        Base::Date
        | Base::DateTime
        | Base::DateTimeStamp
        | Base::Time
        | Base::GYear
        | Base::GYearMonth
        | Base::GMonth
        | Base::GMonthDay
        | Base::GDay => {
            let mut dt = Dt::default();
            let tzm;
            match base {
                Base::DateTime | Base::DateTimeStamp => {
                    let (date, rest) = split_date(s).ok_or_else(bad)?;
                    let rest = rest.strip_prefix('T').ok_or_else(bad)?;
                    let (time, zone) = split_time(rest).ok_or_else(bad)?;
                    (dt.year, dt.month, dt.day) = date;
                    (dt.hour, dt.minute, dt.second, dt.fraction) = time;
                    tzm = zone;
                    if base == Base::DateTimeStamp && tzm.is_none() {
                        return Err("has no timezone, required for dateTimeStamp".into());
                    }
                }
                Base::Date => {
                    let (date, rest) = split_date(s).ok_or_else(bad)?;
                    (dt.year, dt.month, dt.day) = date;
                    tzm = zone_of(rest).ok_or_else(bad)?;
                }
                Base::Time => {
                    let c = re_time().captures(s).ok_or_else(bad)?;
                    dt.hour = num(c.get(1));
                    dt.minute = num(c.get(2));
                    dt.second = num(c.get(3));
                    dt.fraction = c.get(4).map(|m| m.as_str()[1..].to_string());
                    tzm = c.get(5).map(|m| m.as_str().to_string());
                }
                Base::GYear => {
                    let c = re_gyear().captures(s).ok_or_else(bad)?;
                    dt.year = num(c.get(1));
                    tzm = c.get(2).map(|m| m.as_str().to_string());
                }
                Base::GYearMonth => {
                    let c = re_gyearmonth().captures(s).ok_or_else(bad)?;
                    dt.year = num(c.get(1));
                    dt.month = num(c.get(2));
                    tzm = c.get(3).map(|m| m.as_str().to_string());
                }
                Base::GMonth => {
                    let c = re_gmonth().captures(s).ok_or_else(bad)?;
                    dt.month = num(c.get(1));
                    tzm = c.get(2).map(|m| m.as_str().to_string());
                }
                Base::GMonthDay => {
                    let c = re_gmonthday().captures(s).ok_or_else(bad)?;
                    dt.month = num(c.get(1));
                    dt.day = num(c.get(2));
                    tzm = c.get(3).map(|m| m.as_str().to_string());
                }
                _ => {
                    let c = re_gday().captures(s).ok_or_else(bad)?;
                    dt.day = num(c.get(1));
                    tzm = c.get(2).map(|m| m.as_str().to_string());
                }
            }
            if dt.year.is_some_and(|y| y == 0) && s.starts_with("0000") {
                // Year 0000 is allowed in XSD 1.1; keep it.
            }
            dt.tz = parse_tz(tzm.as_deref())?;
            dt.validate()?;
            Ok(Parsed {
                lexical: s.to_string(),
                ordinal: Some(dt.ordinal()),
                boolean: None,
            })
        }
        Base::HexBinary => re_hex()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::Base64Binary => re_base64()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::Language => re_language()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::Name => re_name()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::NCName | Base::Id | Base::IdRef | Base::Entity => re_ncname()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::NMToken => re_nmtoken()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::QName => re_qname()
            .is_match(s)
            .then(|| Parsed::text(s))
            .ok_or_else(bad),
        Base::NormalizedString => {
            if s.contains(['\r', '\n', '\t']) {
                Err(bad())
            } else {
                Ok(Parsed::text(s))
            }
        }
        Base::Token => {
            if s.contains(['\r', '\n', '\t'])
                || s.starts_with(' ')
                || s.ends_with(' ')
                || s.contains("  ")
            {
                Err(bad())
            } else {
                Ok(Parsed::text(s))
            }
        }
        Base::AnyUri => {
            if s.contains([' ', '<', '>', '"', '{', '}', '|', '\\', '^', '`']) {
                Err(bad())
            } else {
                Ok(Parsed::text(s))
            }
        }
        _ => Ok(Parsed::text(s)),
    }
}

// ---------------------------------------------------------------------------------------
// Number formats (tabular-data-model §6.4.2, UAX35 number patterns)

/// A number format: decimal and group characters, and an optional UAX35 pattern.
#[derive(Debug, Clone)]
pub struct NumberFormat {
    pub decimal_char: String,
    pub group_char: Option<String>,
    pub pattern: Option<NumberPattern>,
}

/// A parsed UAX35 number pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPattern {
    pub source: String,
    prefix: String,
    suffix: String,
    min_int: usize,
    primary_group: Option<usize>,
    secondary_group: Option<usize>,
    min_frac: usize,
    max_frac: usize,
    frac_group: Option<usize>,
    exponent: Option<(usize, bool)>,
}

impl NumberPattern {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn parse(p: &str, decimal: &str, group: &str) -> Result<Self, String> {
        let pattern = p.split(';').next().unwrap_or("");
        let is_special = |c: char| {
            c == '0' || c == '#' || c == 'E' || decimal.starts_with(c) || group.starts_with(c)
        };
        let chars: Vec<char> = pattern.chars().collect();
        let start = chars
            .iter()
            .position(|c| is_special(*c) && *c != 'E')
            .ok_or_else(|| format!("number pattern {p:?} has no digits"))?;
        let end = chars
            .iter()
            .rposition(|c| *c == '0' || *c == '#')
            .map(|i| i + 1)
            .unwrap_or(start);
        let prefix: String = chars[..start].iter().collect();
        let suffix: String = chars[end..].iter().collect();
        for c in prefix.chars().chain(suffix.chars()) {
            if !matches!(c, '+' | '-' | '%' | '‰' | '¤') {
                return Err(format!(
                    "number pattern {p:?} uses {c:?}, which is not supported"
                ));
            }
        }
        let body: String = chars[start..end].iter().collect();
        let (mantissa, exponent) = match body.split_once('E') {
            Some((m, e)) => {
                let plus = e.starts_with('+');
                let e = e.trim_start_matches('+');
                if e.is_empty() || !e.chars().all(|c| c == '0' || c == '#') {
                    return Err(format!("number pattern {p:?} has an invalid exponent"));
                }
                (
                    m.to_string(),
                    Some((e.chars().filter(|c| *c == '0').count(), plus)),
                )
            }
            None => (body.clone(), None),
        };
        let (int_part, frac_part) = match mantissa.split_once(decimal) {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (mantissa.clone(), None),
        };
        // Integer part: '#'* then '0'*, with group separators anywhere.
        let mut seen_zero = false;
        for c in int_part.chars() {
            match c {
                '#' if seen_zero => return Err(format!("number pattern {p:?} has '#' after '0'")),
                '#' => {}
                '0' => seen_zero = true,
                c if group.starts_with(c) => {}
                c => return Err(format!("number pattern {p:?} has unexpected {c:?}")),
            }
        }
        let groups: Vec<&str> = int_part.split(group).collect();
        let (primary_group, secondary_group) = if groups.len() > 1 {
            let primary = groups[groups.len() - 1].chars().count();
            let secondary = if groups.len() > 2 {
                groups[groups.len() - 2].chars().count()
            } else {
                primary
            };
            if primary == 0 || secondary == 0 {
                return Err(format!("number pattern {p:?} has an empty group"));
            }
            (Some(primary), Some(secondary))
        } else {
            (None, None)
        };
        let min_int = int_part.chars().filter(|c| *c == '0').count();
        let (mut min_frac, mut max_frac, mut frac_group) = (0, 0, None);
        if let Some(f) = frac_part {
            let mut seen_hash = false;
            for c in f.chars() {
                match c {
                    '0' if seen_hash => {
                        return Err(format!("number pattern {p:?} has '0' after '#'"))
                    }
                    '0' => min_frac += 1,
                    '#' => seen_hash = true,
                    c if group.starts_with(c) => {}
                    c => return Err(format!("number pattern {p:?} has unexpected {c:?}")),
                }
            }
            max_frac = f.chars().filter(|c| *c == '0' || *c == '#').count();
            if let Some(first) = f.split(group).next() {
                if f.contains(group) {
                    frac_group = Some(first.chars().count());
                }
            }
        }
        Ok(NumberPattern {
            source: p.to_string(),
            prefix,
            suffix,
            min_int,
            primary_group,
            secondary_group,
            min_frac,
            max_frac,
            frac_group,
            exponent,
        })
    }
}

impl NumberFormat {
    /// Parses a formatted number into an XSD lexical form.
    pub fn parse(&self, s: &str, base: Base) -> Result<Parsed, String> {
        self.parse_reusing(s, base, String::new())
    }

    /// [`Self::parse`], the common case writing its lexical form into `buf`.
    pub fn parse_reusing(&self, s: &str, base: Base, buf: String) -> Result<Parsed, String> {
        match self.parse_plain(s, base, buf, true) {
            Some(parsed) => parsed,
            None => self.parse_any(s, base),
        }
    }

    /// The common case in one pass over the bytes: no pattern, one-byte decimal and group
    /// characters, and a number that is a sign, digits with well-placed group characters, and
    /// at most one decimal separator with digits after it. `None` for anything else (percent
    /// signs, exponents, misplaced separators, other characters), which [`Self::parse_any`]
    /// parses or rejects with its message; where both apply they agree, as a test holds.
    /// Without `ordinal`, a decimal's ordinal is left out (`None`): it is only compared with
    /// bounds, and reading the digits again as a float cost a few percent of conversion.
    #[inline]
    fn parse_plain(
        &self,
        s: &str,
        base: Base,
        mut lexical: String,
        ordinal: bool,
    ) -> Option<Result<Parsed, String>> {
        if self.pattern.is_some() {
            return None;
        }
        let [dec] = *self.decimal_char.as_bytes() else {
            return None;
        };
        let group = match self.group_char.as_deref().map(str::as_bytes) {
            None | Some([]) => None,
            Some(&[g]) => Some(g),
            Some(_) => return None,
        };
        let unusual = |c: u8| !c.is_ascii() || c.is_ascii_digit() || matches!(c, b'+' | b'-');
        if unusual(dec) || group.is_some_and(|g| unusual(g) || g == dec) {
            return None;
        }
        let bytes = s.as_bytes();
        let (sign, digits) = match bytes.first() {
            Some(b'-') => ("-", &bytes[1..]),
            Some(b'+') => ("+", &bytes[1..]),
            _ => ("", bytes),
        };
        lexical.clear();
        lexical.reserve(bytes.len() + 1);
        lexical.push_str(sign);
        // What came last: nothing in this part yet, a digit, or a group character.
        #[derive(PartialEq)]
        enum Last {
            Start,
            Digit,
            Group,
        }
        let mut last = Last::Start;
        let (mut int_len, mut frac_len) = (0usize, None::<usize>);
        for &c in digits {
            if c.is_ascii_digit() {
                lexical.push(c as char);
                match &mut frac_len {
                    Some(f) => *f += 1,
                    None => int_len += 1,
                }
                last = Last::Digit;
            } else if Some(c) == group {
                if last != Last::Digit {
                    return None;
                }
                last = Last::Group;
            } else if c == dec && frac_len.is_none() && last == Last::Digit {
                lexical.push('.');
                frac_len = Some(0);
                last = Last::Start;
            } else {
                return None;
            }
        }
        if last != Last::Digit || int_len == 0 || (frac_len.is_some() && base.is_integer()) {
            return None;
        }
        // What was built is a valid xsd:integer or xsd:decimal lexical form: an integer type
        // needs only its range checked.
        if base.is_integer() {
            return Some(check_integer_range(&lexical, base).map(|v| Parsed {
                lexical,
                ordinal: Some(Ordinal::Number(v)),
                boolean: None,
            }));
        }
        if base == Base::Decimal {
            let ordinal = ordinal.then(|| Ordinal::Number(lexical.parse().unwrap_or(0.0)));
            return Some(Ok(Parsed {
                lexical,
                ordinal,
                boolean: None,
            }));
        }
        Some(parse_lexical_owned(lexical, base))
    }

    /// [`Self::parse`] for every number format.
    fn parse_any(&self, s: &str, base: Base) -> Result<Parsed, String> {
        let dec = self.decimal_char.as_str();
        let grp = self.group_char.as_deref();
        if matches!(s, "NaN" | "INF" | "-INF" | "+INF") {
            if base.is_decimal_family() {
                return Err(format!("is not a valid {}", base.name()));
            }
            return parse_lexical(s, base);
        }
        let mut rest = s;
        let mut scale: i32 = 0;
        // Percent and per-mille, before or after the number.
        let mut take_affix = |rest: &mut &str| {
            for (sym, sc) in [("%", 2), ("‰", 3)] {
                if let Some(r) = rest.strip_prefix(sym) {
                    *rest = r;
                    scale += sc;
                }
                if let Some(r) = rest.strip_suffix(sym) {
                    *rest = r;
                    scale += sc;
                }
            }
        };
        take_affix(&mut rest);
        let mut negative = false;
        if let Some(r) = rest.strip_prefix('-') {
            negative = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        }
        take_affix(&mut rest);
        if let Some(p) = &self.pattern {
            let want_pct = p.prefix.contains('%') || p.suffix.contains('%');
            let want_pm = p.prefix.contains('‰') || p.suffix.contains('‰');
            let got = match scale {
                0 => (false, false),
                2 => (true, false),
                3 => (false, true),
                _ => return Err(format!("does not match the pattern {:?}", p.source)),
            };
            if got != (want_pct, want_pm) {
                return Err(format!("does not match the pattern {:?}", p.source));
            }
        }
        // Mantissa and exponent.
        let (mantissa, exp) = match rest.find('E') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some(e) = exp {
            let digits = e.trim_start_matches(['+', '-']);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("is not a valid {}", base.name()));
            }
            if base.is_decimal_family() {
                return Err(format!("has an exponent, not allowed in {}", base.name()));
            }
        }
        let (int_part, frac_part) = match mantissa.split_once(dec) {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        if frac_part.is_some() && base.is_integer() {
            return Err(format!(
                "has a decimal separator, not allowed in {}",
                base.name()
            ));
        }
        // The digits go straight into the lexical form, after its sign.
        let mut lexical = String::with_capacity(s.len() + 2);
        if scale == 0 {
            if negative {
                lexical.push('-');
            } else if s.trim_start_matches(['%', '‰']).starts_with('+') {
                lexical.push('+');
            }
        }
        let int_start = lexical.len();
        self.check_groups(int_part, true, &mut lexical)?;
        let int_len = lexical.len() - int_start;
        let frac_len = match frac_part {
            Some(f) => {
                let before = lexical.len();
                self.check_groups(f, false, &mut lexical)?;
                if lexical.len() == before {
                    return Err(format!("is not a valid {}", base.name()));
                }
                Some(lexical.len() - before)
            }
            None => None,
        };
        if int_len == 0 && frac_len.is_none() {
            return Err(format!("is not a valid {}", base.name()));
        }
        if int_len == 0 && self.pattern.is_none() {
            return Err(format!("is not a valid {}", base.name()));
        }
        if let Some(p) = &self.pattern {
            let bad = || format!("does not match the pattern {:?}", p.source);
            if int_len < p.min_int {
                return Err(bad());
            }
            let fd = frac_len.unwrap_or(0);
            if fd < p.min_frac || fd > p.max_frac {
                return Err(bad());
            }
            match (exp, p.exponent) {
                (Some(e), Some((min, _))) => {
                    if e.trim_start_matches(['+', '-']).len() < min {
                        return Err(bad());
                    }
                }
                (None, None) => {}
                _ => return Err(bad()),
            }
            if grp.is_some() && p.primary_group.is_none() && int_part.contains(grp.unwrap_or("")) {
                return Err(bad());
            }
        }
        // The lexical form: the digits as written, unless % or ‰ scale them.
        let frac_start = int_start + int_len;
        if scale == 0 {
            if int_len == 0 {
                lexical.insert(int_start, '0');
            }
            if frac_len.is_some() {
                let at = lexical.len() - frac_len.unwrap_or(0);
                lexical.insert(at, '.');
            }
        } else {
            let mut digits = lexical[int_start..].to_string();
            let mut point = int_len as i64;
            debug_assert_eq!(frac_start + frac_len.unwrap_or(0), lexical.len());
            lexical.clear();
            point -= scale as i64;
            while point <= 0 {
                digits.insert(0, '0');
                point += 1;
            }
            let (ip, fp) = digits.split_at(point as usize);
            let ip = match ip.trim_start_matches('0') {
                "" => "0",
                t => t,
            };
            let fp = fp.trim_end_matches('0');
            if negative {
                lexical.push('-');
            }
            lexical.push_str(ip);
            if !fp.is_empty() {
                lexical.push('.');
                lexical.push_str(fp);
            }
        }
        if let Some(e) = exp {
            lexical.push('e');
            lexical.push_str(e);
        }
        parse_lexical_owned(lexical, base)
    }

    /// Removes group characters, checking group sizes; appends the digits to `digits`.
    fn check_groups(&self, part: &str, integer: bool, digits: &mut String) -> Result<(), String> {
        match self.group_char.as_deref().filter(|g| !g.is_empty()) {
            Some(g) => self.check_group_list(part.split(g), integer, digits),
            None => self.check_group_list(std::iter::once(part), integer, digits),
        }
    }

    fn check_group_list<'a>(
        &self,
        groups: impl Iterator<Item = &'a str> + Clone,
        integer: bool,
        digits: &mut String,
    ) -> Result<(), String> {
        let bad = || "is not a valid number in this format".to_string();
        let mut n = 0;
        let mut any_empty = false;
        for g in groups.clone() {
            if !g.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            any_empty |= g.is_empty();
            n += 1;
        }
        if n > 1 && any_empty {
            return Err(bad());
        }
        if let Some(p) = &self.pattern {
            let mismatch = || format!("does not match the pattern {:?}", p.source);
            if integer {
                if let (Some(primary), Some(secondary)) = (p.primary_group, p.secondary_group) {
                    if n == 1 {
                        let total: usize = groups.clone().map(str::len).sum();
                        if total > primary {
                            return Err(mismatch());
                        }
                    } else {
                        for (i, g) in groups.clone().enumerate() {
                            let ok = if i + 1 == n {
                                g.len() == primary
                            } else if i == 0 {
                                !g.is_empty() && g.len() <= secondary
                            } else {
                                g.len() == secondary
                            };
                            if !ok {
                                return Err(mismatch());
                            }
                        }
                    }
                } else if n > 1 {
                    return Err(mismatch());
                }
            } else if let Some(size) = p.frac_group {
                for (i, g) in groups.clone().enumerate() {
                    if (i + 1 < n && g.len() != size) || (i + 1 == n && g.len() > size) {
                        return Err(mismatch());
                    }
                }
            } else if n > 1 {
                return Err(mismatch());
            }
        }
        for g in groups {
            digits.push_str(g);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Date and time formats (tabular-data-model §6.4.4)

#[derive(Debug, Clone, PartialEq)]
enum DateToken {
    Year,
    Month(bool),
    Day(bool),
    Hour,
    Minute,
    Second,
    Fraction(usize),
    Tz(char, usize),
    Lit(char),
}

/// A date, time or date/time format pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct DatePattern {
    pub source: String,
    tokens: Vec<DateToken>,
}

impl DatePattern {
    /// Parses a pattern from the set the spec requires; anything else is an error (which the
    /// caller turns into a warning, as the spec says).
    pub fn parse(p: &str, base: Base) -> Result<Self, String> {
        let chars: Vec<char> = p.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            let tok = match (c, n) {
                ('y', 4) => DateToken::Year,
                ('M', 1) => DateToken::Month(false),
                ('M', 2) => DateToken::Month(true),
                ('d', 1) => DateToken::Day(false),
                ('d', 2) => DateToken::Day(true),
                ('H', 2) => DateToken::Hour,
                ('m', 2) => DateToken::Minute,
                ('s', 2) => DateToken::Second,
                ('S', n) => DateToken::Fraction(n),
                ('X' | 'x', 1..=3) => DateToken::Tz(c, n),
                ('-' | '/' | '.' | ':' | 'T' | ' ', 1) => DateToken::Lit(c),
                _ => {
                    return Err(format!(
                        "date/time format {p:?} uses {:?}, which is not a recognised field",
                        chars[i..i + n].iter().collect::<String>()
                    ))
                }
            };
            tokens.push(tok);
            i += n;
        }
        let has = |f: &dyn Fn(&DateToken) -> bool| tokens.iter().any(f);
        let has_date = has(&|t| matches!(t, DateToken::Year));
        let has_time = has(&|t| matches!(t, DateToken::Hour));
        let ok = match base {
            Base::Date => has_date && !has_time,
            Base::Time => has_time && !has_date,
            Base::DateTime | Base::DateTimeStamp => has_date && has_time,
            _ => has_date || has_time,
        };
        if !ok {
            return Err(format!(
                "date/time format {p:?} does not fit the datatype {}",
                base.name()
            ));
        }
        Ok(DatePattern {
            source: p.to_string(),
            tokens,
        })
    }

    /// Parses a value written in this pattern into its XSD lexical form.
    pub fn parse_value(&self, s: &str, base: Base) -> Result<Parsed, String> {
        self.parse_value_reusing(s, base, String::new())
    }

    /// [`Self::parse_value`], writing the lexical form into `buf`.
    #[inline]
    pub fn parse_value_reusing(
        &self,
        s: &str,
        base: Base,
        mut buf: String,
    ) -> Result<Parsed, String> {
        let bad = || format!("does not match the format {:?}", self.source);
        let b = s.as_bytes();
        let mut i = 0;
        let mut dt = Dt::default();
        let digits = |i: &mut usize, min: usize, max: usize| -> Option<u32> {
            let start = *i;
            while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i - start < min {
                return None;
            }
            // At most four ASCII digits: no overflow.
            Some(
                b[start..*i]
                    .iter()
                    .fold(0u32, |v, d| v * 10 + u32::from(d - b'0')),
            )
        };
        for (k, tok) in self.tokens.iter().enumerate() {
            match tok {
                DateToken::Year => dt.year = Some(digits(&mut i, 4, 4).ok_or_else(bad)? as i64),
                DateToken::Month(two) => {
                    dt.month = Some(digits(&mut i, if *two { 2 } else { 1 }, 2).ok_or_else(bad)?)
                }
                DateToken::Day(two) => {
                    dt.day = Some(digits(&mut i, if *two { 2 } else { 1 }, 2).ok_or_else(bad)?)
                }
                DateToken::Hour => dt.hour = Some(digits(&mut i, 2, 2).ok_or_else(bad)?),
                DateToken::Minute => dt.minute = Some(digits(&mut i, 2, 2).ok_or_else(bad)?),
                DateToken::Second => dt.second = Some(digits(&mut i, 2, 2).ok_or_else(bad)?),
                DateToken::Fraction(n) => {
                    let start = i;
                    while i < b.len() && i - start < *n && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i == start {
                        return Err(bad());
                    }
                    dt.fraction = Some(s[start..i].to_string());
                }
                DateToken::Tz(c, n) => {
                    // An optional space before the zone was a literal token already.
                    let rest = &s[i..];
                    if rest.starts_with('Z') {
                        if *c == 'x' {
                            return Err(bad());
                        }
                        dt.tz = Some(0);
                        i += 1;
                    } else {
                        let sign = match rest.as_bytes().first() {
                            Some(b'+') => 1,
                            Some(b'-') => -1,
                            _ => return Err(bad()),
                        };
                        i += 1;
                        let h = digits(&mut i, 2, 2).ok_or_else(bad)? as i32;
                        let mut m = 0;
                        match n {
                            1 => {
                                if i + 1 < b.len() + 1 && b.get(i).is_some_and(u8::is_ascii_digit) {
                                    m = digits(&mut i, 2, 2).ok_or_else(bad)? as i32;
                                }
                            }
                            2 => m = digits(&mut i, 2, 2).ok_or_else(bad)? as i32,
                            _ => {
                                if b.get(i) != Some(&b':') {
                                    return Err(bad());
                                }
                                i += 1;
                                m = digits(&mut i, 2, 2).ok_or_else(bad)? as i32;
                            }
                        }
                        if h > 14 || m > 59 {
                            return Err(bad());
                        }
                        dt.tz = Some(sign * (h * 60 + m));
                    }
                }
                DateToken::Lit(c) => {
                    if b.get(i) == Some(&(*c as u8)) {
                        i += 1;
                    } else if *c == ' '
                        && matches!(self.tokens.get(k + 1), Some(DateToken::Tz(..)))
                        && i == b.len()
                    {
                        // "HH:mm X" with no zone given.
                    } else {
                        return Err(bad());
                    }
                }
            }
        }
        if i != b.len() {
            return Err(bad());
        }
        dt.validate()?;
        if base == Base::DateTimeStamp && dt.tz.is_none() {
            return Err("has no timezone, required for dateTimeStamp".into());
        }
        dt.lexical_into(base, &mut buf);
        Ok(Parsed {
            lexical: buf,
            ordinal: Some(dt.ordinal()),
            boolean: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lexical forms of dates and times, written by hand, are those `format!` writes.
    #[test]
    fn date_lexical_forms_are_formats() {
        let fmt = |d: &Dt, base: Base| -> String {
            let tz = match d.tz {
                None => String::new(),
                Some(0) => "Z".into(),
                Some(t) => format!(
                    "{}{:02}:{:02}",
                    if t < 0 { '-' } else { '+' },
                    t.abs() / 60,
                    t.abs() % 60
                ),
            };
            let y = d.year.unwrap_or(0);
            let year = if y < 0 {
                format!("-{:04}", -y)
            } else {
                format!("{y:04}")
            };
            let (mo, da) = (d.month.unwrap_or(1), d.day.unwrap_or(1));
            let mut time = format!(
                "{:02}:{:02}:{:02}",
                d.hour.unwrap_or(0),
                d.minute.unwrap_or(0),
                d.second.unwrap_or(0)
            );
            if let Some(f) = &d.fraction {
                time = format!("{time}.{f}");
            }
            match base {
                Base::Date => format!("{year}-{mo:02}-{da:02}{tz}"),
                Base::Time => format!("{time}{tz}"),
                Base::GYear => format!("{year}{tz}"),
                Base::GYearMonth => format!("{year}-{mo:02}{tz}"),
                Base::GMonth => format!("--{mo:02}{tz}"),
                Base::GMonthDay => format!("--{mo:02}-{da:02}{tz}"),
                Base::GDay => format!("---{da:02}{tz}"),
                _ => format!("{year}-{mo:02}-{da:02}T{time}{tz}"),
            }
        };
        let years = [
            None,
            Some(0),
            Some(7),
            Some(999),
            Some(2024),
            Some(12345),
            Some(-1),
            Some(-44),
            Some(-20000),
        ];
        let tzs = [
            None,
            Some(0),
            Some(60),
            Some(-330),
            Some(840),
            Some(-840),
            Some(5),
        ];
        let bases = [
            Base::Date,
            Base::Time,
            Base::GYear,
            Base::GYearMonth,
            Base::GMonth,
            Base::GMonthDay,
            Base::GDay,
            Base::DateTime,
            Base::DateTimeStamp,
        ];
        for (k, year) in years.into_iter().enumerate() {
            for tz in tzs {
                let d = Dt {
                    year,
                    month: (k % 2 == 0).then_some(1 + k as u32),
                    day: Some(3 * k as u32 + 1),
                    hour: Some(k as u32 * 2),
                    minute: (k % 3 != 0).then_some(59 - k as u32),
                    second: Some(k as u32),
                    fraction: (k % 2 == 1).then(|| "0450".to_string()),
                    tz,
                };
                for base in bases {
                    assert_eq!(d.lexical(base), fmt(&d, base), "{d:?} as {base:?}");
                }
            }
        }
        for v in [0u64, 1, 9, 10, 99, 100, 12345, u64::MAX] {
            for w in 0..6 {
                let mut s = String::new();
                push_padded(&mut s, v, w);
                assert_eq!(s, format!("{v:0w$}"));
            }
        }
    }

    re!(re_integer, r"^[+-]?[0-9]+$");
    re!(re_decimal, r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$");
    re!(
        re_datetime,
        r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
    );
    re!(
        re_date,
        r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$"
    );

    /// Strings near the lexical forms: valid ones, with characters replaced, dropped or
    /// added from the alphabet the forms use (and a few others).
    fn near_misses() -> Vec<String> {
        let seeds = [
            "2024-01-31",
            "-0044-03-15",
            "12024-12-01Z",
            "2024-01-31+01:00",
            "2024-01-31-14:00",
            "2024-01-31T09:05:00",
            "2024-01-31T09:05:00.125Z",
            "2024-02-29T23:59:60-05:30",
            "123",
            "-0",
            "+17",
            "1.5",
            ".5",
            "5.",
            "-.25",
            "+0.000",
            "99999999999999999999",
            "",
            "-",
            "+",
            ".",
            "T",
            "Z",
        ];
        let alphabet: Vec<char> = "0123456789-+:.TZ e£".chars().collect();
        let mut out: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for seed in seeds {
            for _ in 0..400 {
                let mut c: Vec<char> = seed.chars().collect();
                for _ in 0..=next(3) {
                    let ch = alphabet[next(alphabet.len())];
                    match next(3) {
                        0 if !c.is_empty() => {
                            let i = next(c.len());
                            c[i] = ch;
                        }
                        1 if !c.is_empty() => {
                            c.remove(next(c.len()));
                        }
                        _ => c.insert(next(c.len() + 1), ch),
                    }
                }
                out.push(c.into_iter().collect());
            }
        }
        out
    }

    #[test]
    fn hand_read_lexical_forms_agree_with_the_regular_expressions() {
        let mut valid = [0usize; 4];
        for s in near_misses() {
            assert_eq!(
                is_integer_lexical(&s),
                re_integer().is_match(&s),
                "integer {s:?}"
            );
            assert_eq!(
                is_decimal_lexical(&s),
                re_decimal().is_match(&s),
                "decimal {s:?}"
            );
            let date = split_date(&s).and_then(|(d, rest)| Some((d, zone_of(rest)?)));
            match re_date().captures(&s) {
                Some(c) => {
                    valid[0] += 1;
                    let want = (
                        (num(c.get(1)), num(c.get(2)), num(c.get(3))),
                        c.get(4).map(|m| m.as_str().to_string()),
                    );
                    assert_eq!(date, Some(want), "date {s:?}");
                }
                None => assert_eq!(date, None, "date {s:?}"),
            }
            let date_time = split_date(&s)
                .and_then(|(d, rest)| Some((d, split_time(rest.strip_prefix('T')?)?)));
            match re_datetime().captures(&s) {
                Some(c) => {
                    valid[1] += 1;
                    let want = (
                        (num(c.get(1)), num(c.get(2)), num(c.get(3))),
                        (
                            (
                                num(c.get(4)),
                                num(c.get(5)),
                                num(c.get(6)),
                                c.get(7).map(|m| m.as_str()[1..].to_string()),
                            ),
                            c.get(8).map(|m| m.as_str().to_string()),
                        ),
                    );
                    assert_eq!(date_time, Some(want), "dateTime {s:?}");
                }
                None => assert_eq!(date_time, None, "dateTime {s:?}"),
            }
            valid[2] += usize::from(re_integer().is_match(&s));
            valid[3] += usize::from(re_decimal().is_match(&s));
        }
        // The strings reach both sides of each form.
        assert!(valid.iter().all(|&n| n > 50), "{valid:?}");
    }

    fn nf(pattern: Option<&str>, dec: &str, grp: Option<&str>) -> NumberFormat {
        NumberFormat {
            decimal_char: dec.into(),
            group_char: grp.map(Into::into),
            pattern: pattern.map(|p| NumberPattern::parse(p, dec, grp.unwrap_or(",")).unwrap()),
        }
    }

    #[test]
    fn number_patterns() {
        let f = nf(Some("#,##,#00"), ".", Some(","));
        for ok in ["12", "123", "1,234", "12,34,567"] {
            assert!(f.parse(ok, Base::Integer).is_ok(), "{ok}");
        }
        for bad in ["1", "1234", "12,34", "1,234,567"] {
            assert!(f.parse(bad, Base::Integer).is_err(), "{bad}");
        }
        let f = nf(Some("#0.0#,#"), ".", Some(","));
        assert!(f.parse("12.24,5", Base::Decimal).is_ok());
        assert!(f.parse("12.34,567", Base::Decimal).is_err());
        assert!(f.parse("1", Base::Decimal).is_err());
        let f = nf(Some("000.0%"), ".", None);
        assert_eq!(f.parse("-123.4%", Base::Decimal).unwrap().lexical, "-1.234");
        assert!(NumberPattern::parse("[", ".", ",").is_err());
        assert!(NumberPattern::parse("#0.0#.#", ".", ",").is_err());
    }

    /// The one-pass parse of plain numbers agrees with the general one, value or message,
    /// wherever it answers; and it answers for the usual council amounts.
    #[test]
    fn plain_numbers_parse_as_any_number_does() {
        let texts = [
            "0",
            "12",
            "-12",
            "+12",
            "1,234",
            "1,234.56",
            "-1,234.5",
            "+0.5",
            "12.",
            ".5",
            "1.",
            "1,,234",
            ",123",
            "123,",
            "1,.5",
            "1.,5",
            "1.2,3",
            "1.2.3",
            "12a",
            "",
            "-",
            "+",
            "--1",
            "1e5",
            "1E5",
            "5%",
            "NaN",
            "INF",
            "12 345",
            "1.234,56",
            "1'234",
            "١٢",
            "0,5",
            "99999999999999999999",
            "-0",
            "007",
            "1,2,3,4",
            "1.23,",
        ];
        let formats = [
            nf(None, ".", None),
            nf(None, ".", Some(",")),
            nf(None, ",", Some(".")),
            nf(None, ".", Some(" ")),
            nf(None, ",", Some("'")),
            nf(None, ".", Some("")),
        ];
        let bases = [
            Base::Decimal,
            Base::Integer,
            Base::Int,
            Base::NonNegativeInteger,
            Base::Double,
            Base::Float,
        ];
        let mut answered = 0;
        for f in &formats {
            for base in bases {
                for t in texts {
                    if let Some(plain) = f.parse_plain(t, base, String::new(), true) {
                        answered += 1;
                        assert_eq!(plain, f.parse_any(t, base), "{t:?} {base:?} {f:?}");
                        // Without the ordinal: the same value, and an ordinal only where
                        // it is not a decimal's.
                        let bare = f.parse_plain(t, base, String::new(), false).unwrap();
                        match (bare, plain) {
                            (Ok(b), Ok(p)) => {
                                assert_eq!((&b.lexical, b.boolean), (&p.lexical, p.boolean));
                                let kept = if base == Base::Decimal {
                                    None
                                } else {
                                    p.ordinal
                                };
                                assert_eq!(b.ordinal, kept, "{t:?} {base:?}");
                            }
                            (b, p) => assert_eq!(b, p, "{t:?} {base:?} {f:?}"),
                        }
                    }
                }
            }
        }
        assert!(answered > 200, "{answered}");
        let money = nf(None, ".", Some(","));
        assert!(money
            .parse_plain("83,369.51", Base::Decimal, String::new(), true)
            .is_some());
        assert!(money
            .parse_plain("-16673.51", Base::Decimal, String::new(), true)
            .is_some());
    }

    #[test]
    fn group_char_without_pattern() {
        let f = nf(None, ",", Some("."));
        assert_eq!(
            f.parse("10.000,1", Base::Decimal).unwrap().lexical,
            "10000.1"
        );
        let f = nf(None, ".", Some(","));
        assert!(f.parse("1,,000", Base::Integer).is_err());
        assert_eq!(f.parse("-25%", Base::Decimal).unwrap().lexical, "-0.25");
        assert!(f.parse("1.5", Base::Integer).is_err());
        assert!(f.parse("1E3", Base::Decimal).is_err());
    }

    /// The lexical forms built from formatted numbers: signs, groups, fractions, exponents,
    /// percent and per-mille, and a pattern that lets the integer part be empty.
    #[test]
    fn formatted_numbers_lexical_forms() {
        let f = nf(None, ".", Some(","));
        for (input, base, lexical) in [
            ("1,234.56", Base::Decimal, "1234.56"),
            ("-1,234", Base::Integer, "-1234"),
            ("+12", Base::Integer, "+12"),
            ("0.50", Base::Decimal, "0.50"),
            ("12.5E3", Base::Double, "12.5e3"),
            ("-1,000E-2", Base::Double, "-1000e-2"),
            ("50‰", Base::Decimal, "0.05"),
            ("%50", Base::Decimal, "0.5"),
            ("1,234.5%", Base::Decimal, "12.345"),
            ("-0.5%", Base::Decimal, "-0.005"),
        ] {
            assert_eq!(
                f.parse(input, base).map(|p| p.lexical),
                Ok(lexical.to_string()),
                "{input}"
            );
        }
        for bad in ["1,234.", ".", "-", "1,23a", "12..5", ""] {
            assert!(f.parse(bad, Base::Decimal).is_err(), "{bad}");
        }
        let f = nf(Some("#.0#"), ".", None);
        assert_eq!(f.parse(".5", Base::Decimal).unwrap().lexical, "0.5");
        assert_eq!(f.parse("-.25", Base::Decimal).unwrap().lexical, "-0.25");
        assert!(f.parse(".125", Base::Decimal).is_err());
    }

    #[test]
    fn dates() {
        let p = DatePattern::parse("M/d/yyyy", Base::Date).unwrap();
        assert_eq!(
            p.parse_value("10/18/2010", Base::Date).unwrap().lexical,
            "2010-10-18"
        );
        assert!(p.parse_value("2/30/2010", Base::Date).is_err());
        let p = DatePattern::parse("yyyy-MM-ddTHH:mm:ssXXX", Base::DateTime).unwrap();
        assert_eq!(
            p.parse_value("2015-03-15T15:02:37-05:00", Base::DateTime)
                .unwrap()
                .lexical,
            "2015-03-15T15:02:37-05:00"
        );
        assert!(DatePattern::parse("yy-MM-dd", Base::Date).is_err());
        let p = DatePattern::parse("HH:mm:ss.S", Base::Time).unwrap();
        assert!(p.parse_value("15:02:37.1", Base::Time).is_ok());
    }

    #[test]
    fn lexical_spaces() {
        assert!(parse_lexical("+1", Base::Integer).is_ok());
        assert!(parse_lexical("256", Base::UnsignedByte).is_err());
        assert!(parse_lexical("-1", Base::NonNegativeInteger).is_err());
        assert!(parse_lexical("1.5E3", Base::Double).is_ok());
        assert!(parse_lexical("2015-02-29", Base::Date).is_err());
        assert!(parse_lexical("P1Y2MT3H", Base::Duration).is_ok());
        assert!(parse_lexical("P1Y", Base::DayTimeDuration).is_err());
        assert!(parse_lexical("PT", Base::Duration).is_err());
        assert!(parse_lexical("0FB7", Base::HexBinary).is_ok());
        assert!(parse_lexical("0FB", Base::HexBinary).is_err());
        assert!(parse_lexical("en-GB", Base::Language).is_ok());
        assert!(parse_lexical("2015-03-15T15:02:37", Base::DateTimeStamp).is_err());
    }
}
