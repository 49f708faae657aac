//! The personal-data screen: email addresses, UK phone numbers, National Insurance numbers and
//! NHS numbers (checksum-verified) in text cells, and columns the mapping marks as possibly
//! naming individuals. Each finding blocks publication unless the pipeline allows or redacts
//! that column.

use regex::Regex;
use std::sync::OnceLock;

/// What the screen found in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    Email,
    Phone,
    NationalInsurance,
    Nhs,
}

impl Finding {
    pub fn rule(self) -> &'static str {
        match self {
            Finding::Email => "personal-data:email",
            Finding::Phone => "personal-data:phone",
            Finding::NationalInsurance => "personal-data:ni-number",
            Finding::Nhs => "personal-data:nhs-number",
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Finding::Email => "an email address",
            Finding::Phone => "a UK phone number",
            Finding::NationalInsurance => "a National Insurance number",
            Finding::Nhs => "an NHS number",
        }
    }
}

struct Patterns {
    email: Regex,
    phone: Regex,
    nino: Regex,
    nhs: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        email: Regex::new(r"(?i)\b[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\b")
            .expect("email pattern"),
        // +44 or 0, then a UK number: 01/02/03/07/08 and 9-10 more digits, spaces or hyphens
        // allowed between groups, brackets around the area code.
        phone: Regex::new(
            r"(?:^|[^\w])(?:\+44\s?\(?0?\)?\s?|\(?0)(?:[1-37-8]\d{1,4})\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?:$|[^\w])",
        )
        .expect("phone pattern"),
        // Two prefix letters (not D, F, I, Q, U, V; second not O), six digits, suffix A-D.
        nino: Regex::new(
            r"(?i)\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
        )
        .expect("nino pattern"),
        nhs: Regex::new(r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b").expect("nhs pattern"),
    })
}

/// Whether ten digits are a valid NHS number (modulus 11 check digit).
pub fn nhs_checksum(digits: &[u8]) -> bool {
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * (10 - i as u32))
        .sum();
    let check = 11 - (sum % 11);
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(digits[9])
}

/// The first kind of personal data in `value`, if any.
pub fn screen(value: &str) -> Option<Finding> {
    if value.len() < 6 {
        return None;
    }
    let p = patterns();
    if value.contains('@') && p.email.is_match(value) {
        return Some(Finding::Email);
    }
    if p.nino.find_iter(value).any(|m| {
        let s = m.as_str().to_ascii_uppercase();
        !["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(&&s[..2])
    }) {
        return Some(Finding::NationalInsurance);
    }
    for m in p.nhs.find_iter(value) {
        let digits: Vec<u8> = m
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        if nhs_checksum(&digits) {
            return Some(Finding::Nhs);
        }
    }
    if p.phone.find_iter(value).any(|m| {
        let n = m.as_str().bytes().filter(u8::is_ascii_digit).count();
        (10..=12).contains(&n)
    }) {
        return Some(Finding::Phone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_personal_data() {
        for (v, f) in [
            ("contact jane.smith@example.org", Finding::Email),
            ("j.o'neil+spend@council.gov.uk", Finding::Email),
            ("07700 900123", Finding::Phone),
            ("Tel: 0161 496 0000", Finding::Phone),
            ("+44 7700 900123", Finding::Phone),
            ("(0161) 4960000", Finding::Phone),
            ("QQ123456C", Finding::NationalInsurance),
            ("AB 12 34 56 C", Finding::NationalInsurance),
            ("943 476 5919", Finding::Nhs),
            ("9434765919", Finding::Nhs),
        ] {
            // QQ is not a valid prefix: it must not be found.
            if v.starts_with("QQ") {
                assert_eq!(screen(v), None, "{v}");
            } else {
                assert_eq!(screen(v), Some(f), "{v}");
            }
        }
    }

    #[test]
    fn leaves_ordinary_values_alone() {
        for v in [
            "Civic Office Supplies Ltd",
            "TRA-2024-01003",
            "73253.67",
            "2024-01-02",
            "E08000009",
            "Invoice 1234567890",
            "GB123456789",
            "Grants to Voluntary Organisations",
            "www.example.org",
            "BG123456A",
        ] {
            assert_eq!(screen(v), None, "{v}");
        }
    }

    #[test]
    fn nhs_check_digit() {
        assert!(nhs_checksum(&[9, 4, 3, 4, 7, 6, 5, 9, 1, 9]));
        assert!(!nhs_checksum(&[9, 4, 3, 4, 7, 6, 5, 9, 1, 8]));
    }
}
