//! UK value formats: money amounts and dates as councils write them, to canonical XSD forms.

use serde::{Deserialize, Serialize};

/// What a column holds, as the mapping declares it; decides how its values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// Kept as written (padding and NBSP removed).
    #[default]
    Text,
    /// Money: `£1,234.56`, `"7,196.91 "`, `-£1,029.15`, `(250.00)` → `1234.56`, `-250.00`.
    Amount,
    /// A whole number: `1,234` → `1234`.
    Integer,
    /// A date in any of the UK forms → `yyyy-mm-dd`.
    Date,
    /// A date and time → `yyyy-mm-ddThh:mm:ss`.
    DateTime,
}

impl ValueKind {
    /// The CSVW datatype name a column of this kind is published with by default.
    pub fn datatype(self) -> &'static str {
        match self {
            ValueKind::Text => "string",
            ValueKind::Amount => "decimal",
            ValueKind::Integer => "integer",
            ValueKind::Date => "date",
            ValueKind::DateTime => "dateTime",
        }
    }

    /// The kind tidy reads a column of the CSVW datatype `name` (the metadata vocabulary's
    /// names, as csvw spells them) as: the other way from [`ValueKind::datatype`].
    pub fn of_datatype(name: &str) -> ValueKind {
        match name {
            "date" => ValueKind::Date,
            "dateTime" | "datetime" | "dateTimeStamp" => ValueKind::DateTime,
            "decimal" | "double" | "float" | "number" => ValueKind::Amount,
            "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
            | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedLong"
            | "unsignedInt" | "unsignedShort" | "unsignedByte" => ValueKind::Integer,
            _ => ValueKind::Text,
        }
    }
}

/// The order of day and month in numeric dates like `09/07/14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day first (UK): 09/07/14 is 9 July 2014.
    Dmy,
    /// Month first (US): 07/27/2007 is 27 July 2007.
    Mdy,
}

impl DateOrder {
    pub fn name(self) -> &'static str {
        match self {
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
        }
    }
}

/// Parses a money amount to a canonical decimal (`-1234.56`), keeping every digit written.
pub fn parse_amount(raw: &str) -> Result<String, String> {
    let mut s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if s.is_empty() {
        return Err("empty".into());
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') {
        negative = true;
        s = s[1..s.len() - 1].to_string();
    }
    // A sign before or after the currency, or a trailing minus (some finance exports).
    let mut rest = s.as_str();
    for _ in 0..2 {
        if let Some(r) = rest.strip_prefix('-') {
            negative = !negative;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('£').or_else(|| rest.strip_prefix("GBP")) {
            rest = r;
        }
    }
    if let Some(r) = rest.strip_suffix('-') {
        negative = !negative;
        rest = r;
    }
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if int.is_empty() && frac.is_none_or(|f| f.is_empty()) {
        return Err("no digits".into());
    }
    // Thousands separators: groups of three digits after the first group.
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err("misplaced thousands separator".into());
    }
    let digits: String = groups.concat();
    if !digits.bytes().all(|b| b.is_ascii_digit())
        || !frac.unwrap_or("").bytes().all(|b| b.is_ascii_digit())
    {
        return Err("not a number".into());
    }
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    let mut out = String::with_capacity(digits.len() + 4);
    let zero = digits.bytes().all(|b| b == b'0') && frac.unwrap_or("").bytes().all(|b| b == b'0');
    if negative && !zero {
        out.push('-');
    }
    out.push_str(&digits);
    if let Some(f) = frac.filter(|f| !f.is_empty()) {
        out.push('.');
        out.push_str(f);
    }
    Ok(out)
}

/// Parses a whole number (`1,234`, or `12.0` as a spreadsheet writes it).
pub fn parse_integer(raw: &str) -> Result<String, String> {
    let a = parse_amount(raw)?;
    match a.split_once('.') {
        None => Ok(a),
        Some((i, f)) if f.bytes().all(|b| b == b'0') => Ok(i.to_string()),
        Some(_) => Err("not a whole number".into()),
    }
}

/// A date as read, before the column's day/month order is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDate {
    /// Unambiguous: year, month, day.
    Ymd(i32, u32, u32),
    /// Two small numbers and a year: `a/b/y`, order to be decided.
    Numeric(u32, u32, i32),
}

/// A parsed date with an optional time of day (h, m, s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDateTime {
    pub date: RawDate,
    pub time: Option<(u32, u32, u32)>,
    /// The year was written with two digits (expanded: 00–69 → 2000s, 70–99 → 1900s).
    pub two_digit_year: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_by_name(s: &str) -> Option<u32> {
    let l = s.to_ascii_lowercase();
    if l.len() < 3 {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| l == *m || (l == "sept" && *m == "sep"))
        .or_else(|| full.iter().position(|m| l == *m))
        .map(|i| i as u32 + 1)
}

fn year(s: &str) -> Option<(i32, bool)> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.len() {
        4 => s.parse().ok().map(|y| (y, false)),
        2 => {
            let y: i32 = s.parse().ok()?;
            Some((if y < 70 { 2000 + y } else { 1900 + y }, true))
        }
        _ => None,
    }
}

fn small(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `hh:mm[:ss[.fff]] [AM|PM]`.
fn parse_time(s: &str) -> Option<(u32, u32, u32)> {
    let s = s.trim();
    let (clock, meridiem) = match s.to_ascii_uppercase() {
        u if u.ends_with("AM") => (s[..s.len() - 2].trim(), Some(false)),
        u if u.ends_with("PM") => (s[..s.len() - 2].trim(), Some(true)),
        _ => (s, None),
    };
    let mut parts = clock.split(':');
    let h: u32 = small(parts.next()?)?;
    let m: u32 = small(parts.next()?)?;
    let sec = match parts.next() {
        Some(x) => small(x.split('.').next()?)?,
        None => 0,
    };
    if parts.next().is_some() || m > 59 || sec > 60 {
        return None;
    }
    let h = match meridiem {
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if h <= 23 => h,
        None => return None,
    };
    Some((h, m, sec))
}

/// Reads one date in the forms councils use; the day/month order of numeric dates is left open.
pub fn parse_raw_date(raw: &str) -> Option<RawDateTime> {
    let s = raw.trim();
    let (date_part, time) = match s.find(['T', ' ']) {
        // `2014-04-01T00:00:00`, `07/27/2007 12:00:00 AM`, but not `15 Feb 2012`.
        Some(i) if s[i + 1..].contains(':') && !s[..i].contains(' ') => {
            (&s[..i], Some(parse_time(&s[i + 1..])?))
        }
        _ => (s, None),
    };
    let sep = date_part
        .chars()
        .find(|c| matches!(c, '/' | '.' | '-' | ' '))?;
    let parts: Vec<&str> = date_part.split(sep).filter(|p| !p.is_empty()).collect();
    if parts.len() != 3 {
        return None;
    }
    let (date, two) = if parts[0].len() == 4 {
        // yyyy-mm-dd (also yyyy/mm/dd)
        let (y, _) = year(parts[0])?;
        (RawDate::Ymd(y, small(parts[1])?, small(parts[2])?), false)
    } else if let Some(m) = month_by_name(parts[1]) {
        // 15-Feb-2012, 15 February 12
        let (y, two) = year(parts[2])?;
        (RawDate::Ymd(y, m, small(parts[0])?), two)
    } else if let Some(m) = month_by_name(parts[0]) {
        // Feb 15 2012
        let (y, two) = year(parts[2].trim_end_matches(','))?;
        let d = small(parts[1].trim_end_matches(','))?;
        (RawDate::Ymd(y, m, d), two)
    } else {
        let (y, two) = year(parts[2])?;
        (RawDate::Numeric(small(parts[0])?, small(parts[1])?, y), two)
    };
    Some(RawDateTime {
        date,
        time,
        two_digit_year: two,
    })
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Resolves a raw date with the column's order; `None` if it is not a real date.
pub fn resolve(d: RawDate, order: DateOrder) -> Option<(i32, u32, u32)> {
    let (y, m, day) = match (d, order) {
        (RawDate::Ymd(y, m, d), _) => (y, m, d),
        (RawDate::Numeric(a, b, y), DateOrder::Dmy) => (y, b, a),
        (RawDate::Numeric(a, b, y), DateOrder::Mdy) => (y, a, b),
    };
    ((1..=12).contains(&m) && day >= 1 && day <= days_in_month(y, m)).then_some((y, m, day))
}

/// What a column's numeric dates say about their order.
#[derive(Debug, Clone, Default)]
pub struct OrderEvidence {
    /// A value whose first number is above 12 (so it is a day).
    pub day_first: Option<String>,
    /// A value whose second number is above 12.
    pub month_first: Option<String>,
    /// Numeric values seen.
    pub numeric: usize,
}

impl OrderEvidence {
    pub fn add(&mut self, raw: &str, d: &RawDate) {
        if let RawDate::Numeric(a, b, _) = *d {
            self.numeric += 1;
            if a > 12 && self.day_first.is_none() {
                self.day_first = Some(raw.to_string());
            }
            if b > 12 && self.month_first.is_none() {
                self.month_first = Some(raw.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datatypes_and_kinds_agree_both_ways() {
        for k in [
            ValueKind::Text,
            ValueKind::Amount,
            ValueKind::Integer,
            ValueKind::Date,
            ValueKind::DateTime,
        ] {
            assert_eq!(ValueKind::of_datatype(k.datatype()), k);
        }
        assert_eq!(ValueKind::of_datatype("double"), ValueKind::Amount);
        assert_eq!(ValueKind::of_datatype("anyURI"), ValueKind::Text);
    }

    #[test]
    fn amounts_as_councils_write_them() {
        for (raw, want) in [
            ("£1,234.56", "1234.56"),
            ("7,196.91 ", "7196.91"),
            ("-£1,029.15", "-1029.15"),
            ("£-1,029.15", "-1029.15"),
            ("(250.00)", "-250.00"),
            ("(£250.00)", "-250.00"),
            ("1\u{a0}234.5", "1234.5"),
            ("500", "500"),
            ("0.00", "0.00"),
            ("-0", "0"),
            ("1234-", "-1234"),
            (".5", "0.5"),
        ] {
            assert_eq!(parse_amount(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in [
            "", "£", "12,34.00", "1.2.3", "abc", "£1,2345", "N/A", ",123",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_integer("1,234").as_deref(), Ok("1234"));
        assert_eq!(parse_integer("12.0").as_deref(), Ok("12"));
        assert!(parse_integer("12.5").is_err());
    }

    fn ymd(raw: &str, order: DateOrder) -> Option<(i32, u32, u32)> {
        resolve(parse_raw_date(raw)?.date, order)
    }

    #[test]
    fn dates_as_councils_write_them() {
        use DateOrder::*;
        assert_eq!(ymd("09/07/14", Dmy), Some((2014, 7, 9)));
        assert_eq!(ymd("7/10/2009", Dmy), Some((2009, 10, 7)));
        assert_eq!(ymd("02.04.2013", Dmy), Some((2013, 4, 2)));
        assert_eq!(ymd("15-Feb-2012", Mdy), Some((2012, 2, 15)));
        assert_eq!(ymd("15 February 2012", Dmy), Some((2012, 2, 15)));
        assert_eq!(ymd("2014-04-01", Mdy), Some((2014, 4, 1)));
        assert_eq!(ymd("07/27/2007 12:00:00 AM", Mdy), Some((2007, 7, 27)));
        assert_eq!(ymd("07/27/2007 12:00:00 AM", Dmy), None);
        assert_eq!(ymd("29/02/2023", Dmy), None);
        assert_eq!(ymd("29/02/2024", Dmy), Some((2024, 2, 29)));
        assert_eq!(ymd("99/01/2024", Dmy), None);
        let t = parse_raw_date("07/27/2007 1:05:09 PM").unwrap();
        assert_eq!(t.time, Some((13, 5, 9)));
        assert_eq!(
            parse_raw_date("2014-04-01T00:00:00").unwrap().time,
            Some((0, 0, 0))
        );
        assert!(parse_raw_date("09/07/14").unwrap().two_digit_year);
        for bad in [
            "",
            "yesterday",
            "2014-04",
            "1/2/3/4",
            "12/12/123",
            "07/27/2007 25:00",
        ] {
            assert!(parse_raw_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn order_evidence() {
        let mut e = OrderEvidence::default();
        for v in ["01/02/2024", "13/02/2024"] {
            e.add(v, &parse_raw_date(v).unwrap().date);
        }
        assert_eq!(e.day_first.as_deref(), Some("13/02/2024"));
        assert!(e.month_first.is_none());
    }
}
