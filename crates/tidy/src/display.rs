//! Clean values as people in the UK read them: the inverse of [`crate::values`]. An XSD decimal
//! amount becomes `£28,182.22` (negatives `−£…`, with the minus sign, not a hyphen), an XSD date
//! `30 January 2024`. Used for titles published as `rdfs:label` and for pages; the typed literal
//! stays in its machine form in the data.

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Digits grouped in threes by commas: `1234567` → `1,234,567`.
pub fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An XSD decimal (or integer) as pounds: `-1234.5` → `−£1,234.50`. Never rounded: a value with
/// more than two decimal places keeps them all. `None` when it is not a decimal.
pub fn pounds(decimal: &str) -> Option<String> {
    let v = decimal.trim();
    let (negative, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = match frac.len() {
        0 => "00".to_string(),
        1 => format!("{frac}0"),
        _ => frac.to_string(),
    };
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "\u{2212}" } else { "" };
    Some(format!("{sign}£{}.{frac}", grouped(int)))
}

/// A sum of money in pounds to the penny: `-1234.5` → `−£1,234.50` (an amount that is not a
/// finite number shows as it is).
pub fn pounds_of(v: f64) -> String {
    pounds(&format!("{v:.2}")).unwrap_or_else(|| v.to_string())
}

/// An XSD date (`2024-01-30`, a time zone ignored) as `30 January 2024`; `None` otherwise.
pub fn long_date(xsd: &str) -> Option<String> {
    let d = xsd.trim();
    let (y, rest) = d.split_at_checked(4)?;
    let rest = rest.strip_prefix('-')?;
    let (m, rest) = rest.split_at_checked(2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, zone) = rest.split_at_checked(2)?;
    if !(zone.is_empty() || zone == "Z" || zone.starts_with(['+', '-'])) {
        return None;
    }
    let year: u32 = y.parse().ok()?;
    let month: usize = m.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !y.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(format!("{day} {} {year}", MONTHS[month - 1]))
}

/// An XSD dateTime as `30 January 2024, 10:05` (seconds and time zone left out); `None`
/// otherwise.
pub fn long_date_time(xsd: &str) -> Option<String> {
    let (date, time) = xsd.trim().split_once('T')?;
    let day = long_date(date)?;
    let hm = time.get(..5)?;
    let ok = hm.as_bytes()[2] == b':'
        && hm
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 2 || b.is_ascii_digit());
    ok.then(|| format!("{day}, {hm}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_pounds() {
        assert_eq!(pounds("28182.22").as_deref(), Some("£28,182.22"));
        assert_eq!(pounds("-1234.5").as_deref(), Some("\u{2212}£1,234.50"));
        assert_eq!(pounds("500").as_deref(), Some("£500.00"));
        assert_eq!(pounds("1000000.125").as_deref(), Some("£1,000,000.125"));
        assert_eq!(pounds("0.00").as_deref(), Some("£0.00"));
        assert_eq!(pounds("-0.00").as_deref(), Some("£0.00"));
        assert_eq!(pounds(".5").as_deref(), Some("£0.50"));
        assert_eq!(pounds("007").as_deref(), Some("£7.00"));
        for bad in ["", "-", ".", "1e5", "£5", "1,000", "NaN", "1.2.3"] {
            assert_eq!(pounds(bad), None, "{bad}");
        }
    }

    #[test]
    fn sums_read_as_pounds() {
        assert_eq!(pounds_of(365887.57), "£365,887.57");
        assert_eq!(pounds_of(-0.004), "£0.00");
        assert_eq!(pounds_of(-1500.0), "\u{2212}£1,500.00");
        assert_eq!(pounds_of(f64::NAN), "NaN");
    }

    #[test]
    fn dates_read_as_words() {
        assert_eq!(long_date("2024-01-30").as_deref(), Some("30 January 2024"));
        assert_eq!(long_date("2024-12-01Z").as_deref(), Some("1 December 2024"));
        assert_eq!(
            long_date("2024-02-09+01:00").as_deref(),
            Some("9 February 2024")
        );
        for bad in [
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "2024/01/30",
            "2024-01-30T10:00",
            "yyyy-01-01",
            "",
        ] {
            assert_eq!(long_date(bad), None, "{bad}");
        }
        assert_eq!(
            long_date_time("2024-01-30T10:05:09Z").as_deref(),
            Some("30 January 2024, 10:05")
        );
        assert_eq!(long_date_time("2024-01-30T1x:05"), None);
        assert_eq!(long_date_time("2024-01-30"), None);
    }

    #[test]
    fn digits_group_in_threes() {
        assert_eq!(grouped("1"), "1");
        assert_eq!(grouped("1234"), "1,234");
        assert_eq!(grouped("123456"), "123,456");
        assert_eq!(grouped("1234567"), "1,234,567");
    }
}
