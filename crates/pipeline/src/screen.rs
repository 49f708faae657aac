//! The personal-data screen: email addresses, UK phone numbers, National Insurance numbers and
//! NHS numbers (checksum-verified) in text cells; values of a names column (suppliers,
//! recipients) that look like a person's name rather than an organisation's; and councils' own
//! redaction placeholders. The gate decides what blocks and what is redacted.

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

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

/// How an NHS number was found in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NhsForm {
    /// Written 3-3-4 with spaces or hyphens, as NHS numbers are printed.
    Spaced,
    /// Ten bare digits: a tenth of any ten-digit numbers pass the check, so this alone is weak.
    Bare,
}

/// The NHS number in `value`, if any, and how it is written.
pub fn nhs_number(value: &str) -> Option<NhsForm> {
    for m in patterns().nhs.find_iter(value) {
        let digits: Vec<u8> = m
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        if nhs_checksum(&digits) {
            return Some(if m.as_str().len() > 10 {
                NhsForm::Spaced
            } else {
                NhsForm::Bare
            });
        }
    }
    None
}

/// The first kind of personal data in `value`, if any (an NHS number in any form: the gate
/// weighs bare ten-digit numbers against the column).
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
    if nhs_number(value).is_some() {
        return Some(Finding::Nhs);
    }
    if p.phone.find_iter(value).any(|m| {
        let n = m.as_str().bytes().filter(u8::is_ascii_digit).count();
        (10..=12).contains(&n)
    }) {
        return Some(Finding::Phone);
    }
    None
}

const FORENAMES: &str = include_str!("../../../vocab/reference/forenames.txt");

fn forenames() -> &'static std::collections::HashSet<String> {
    static SET: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        FORENAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Words that make a name an organisation's (or a placeholder's), never a person's.
const ORGANISATION_WORDS: &[&str] = &[
    "ltd",
    "limited",
    "plc",
    "llp",
    "llc",
    "inc",
    "co",
    "company",
    "corporation",
    "cic",
    "cio",
    "council",
    "councils",
    "borough",
    "county",
    "authority",
    "government",
    "department",
    "office",
    "services",
    "service",
    "group",
    "trust",
    "trustees",
    "association",
    "society",
    "club",
    "church",
    "parish",
    "school",
    "schools",
    "academy",
    "college",
    "university",
    "nursery",
    "centre",
    "center",
    "care",
    "homes",
    "home",
    "housing",
    "solutions",
    "systems",
    "consulting",
    "consultants",
    "consultancy",
    "associates",
    "partners",
    "partnership",
    "and",
    "sons",
    "brothers",
    "bros",
    "uk",
    "gb",
    "international",
    "hotel",
    "garage",
    "motors",
    "cars",
    "taxis",
    "taxi",
    "travel",
    "transport",
    "builders",
    "building",
    "construction",
    "contractors",
    "electrical",
    "electrics",
    "plumbing",
    "heating",
    "supplies",
    "supply",
    "foods",
    "catering",
    "pharmacy",
    "surgery",
    "practice",
    "clinic",
    "hospital",
    "nhs",
    "foundation",
    "charity",
    "fund",
    "board",
    "agency",
    "network",
    "federation",
    "union",
    "enterprises",
    "holdings",
    "industries",
    "products",
    "management",
    "training",
    "media",
    "design",
    "print",
    "printing",
    "studio",
    "studios",
    "cleaning",
    "security",
    "landscapes",
    "landscaping",
    "legal",
    "solicitors",
    "accountants",
    "estates",
    "properties",
    "property",
    "lettings",
    "energy",
    "water",
    "power",
    "gas",
    "telecom",
    "communications",
    "technology",
    "technologies",
    "software",
    "digital",
    "data",
    "stores",
    "store",
    "shop",
    "market",
    "restaurant",
    "cafe",
    "pub",
    "inn",
    "arms",
    "bar",
    "farm",
    "farms",
    "garden",
    "gardens",
    "works",
    "mill",
    "team",
    "project",
    "projects",
    "scheme",
    "programme",
    "alliance",
    "institute",
    "commission",
    "police",
    "fire",
    "rescue",
    "ambulance",
    "court",
    "tribunal",
    "hmrc",
    "dwp",
    "bank",
    "insurance",
    "pension",
    "pensions",
    "funds",
    "the",
    "of",
    "for",
    "at",
    "in",
    "on",
    "redacted",
    "withheld",
    "personal",
    "information",
    "individual",
    "individuals",
    "various",
    "sundry",
    "refund",
    "refunds",
    "payee",
    "customer",
];

/// Titles people's names start with.
const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "rev",
    "revd",
    "reverend",
    "lord",
    "lady",
    "cllr",
    "councillor",
];

/// Why a value looks like a person's name, if it does: a title (`Mr J Smith`), a common
/// forename and a surname (`John Smith`, `SMITH, John`), or an initial and a surname
/// (`J. Smith`). Values with digits or with a word organisations use (`Ltd`, `Services`,
/// `Trust`, `&`…) never do.
pub fn person_name(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() || v.len() > 60 || v.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if v.contains(['&', '@', '/', '(', ')', '+']) {
        return None;
    }
    // "SMITH, John" → "John SMITH".
    let reordered;
    let v = match v.split_once(',') {
        Some((last, first)) if !first.contains(',') => {
            reordered = format!("{} {}", first.trim(), last.trim());
            reordered.as_str()
        }
        Some(_) => return None,
        None => v,
    };
    let words: Vec<String> = v
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| c == '.' || c == '\'')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty()
        || words.iter().any(|w| {
            ORGANISATION_WORDS.contains(&w.as_str())
                || !w
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
    {
        return None;
    }
    let titled = TITLES.contains(&words[0].as_str());
    let rest = if titled { &words[1..] } else { &words[..] };
    if titled && !rest.is_empty() && rest.len() <= 4 {
        return Some("starts with a title (Mr, Mrs, Ms, Dr…)");
    }
    if !(2..=3).contains(&rest.len()) {
        return None;
    }
    let surname = &rest[rest.len() - 1];
    if surname.chars().count() < 2 {
        return None;
    }
    if forenames().contains(&rest[0]) {
        return Some("a common forename and a surname");
    }
    if rest[0].chars().count() == 1
        && rest[1..rest.len() - 1]
            .iter()
            .all(|w| w.chars().count() == 1)
    {
        return Some("an initial and a surname");
    }
    None
}

/// Whether `value` is a council's own redaction placeholder ("REDACTED", "Redacted Personal
/// Data", "Personal Information", "Name withheld"…): a value already redacted, not a name.
pub fn placeholder(value: &str) -> bool {
    let words: Vec<String> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() || words.len() > 5 {
        return false;
    }
    const MARKS: &[&str] = &[
        "redacted",
        "redaction",
        "withheld",
        "personal",
        "private",
        "confidential",
        "anonymised",
        "anonymous",
        "sensitive",
        "protected",
        "gdpr",
    ];
    const FILLER: &[&str] = &[
        "data",
        "information",
        "info",
        "details",
        "name",
        "names",
        "individual",
        "individuals",
        "person",
        "payee",
        "supplier",
        "recipient",
        "protection",
        "act",
        "for",
        "reasons",
        "of",
        "due",
        "to",
        "under",
        "the",
        "a",
        "an",
        "is",
        "not",
        "disclosed",
        "by",
        "request",
        "dpa",
        "section",
        "s40",
        "40",
        "exempt",
        "exemption",
        "removed",
        "hidden",
        "beneficiary",
    ];
    words.iter().any(|w| MARKS.contains(&w.as_str()))
        && words
            .iter()
            .all(|w| MARKS.contains(&w.as_str()) || FILLER.contains(&w.as_str()))
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

    #[test]
    fn person_names_and_organisations() {
        for v in [
            "Mr J Smith",
            "MRS A JONES",
            "Dr Priya Patel",
            "John Smith",
            "SMITH, John",
            "Margaret O'Brien",
            "Susan Jane Taylor",
            "J. Smith",
            "A B Clarke",
        ] {
            assert!(person_name(v).is_some(), "{v}");
        }
        for v in [
            "Acme Ltd",
            "John Smith & Sons",
            "John Smith Builders",
            "Trafford Council",
            "Grace Church Trust",
            "Rose Garden Centre",
            "Smith",
            "Amazon",
            "Unit 4 Business Software",
            "British Telecommunications PLC",
            "Redacted Personal Data",
            "The Hollies",
            "Marks and Spencer",
            "Mary Street Nursery",
            "",
        ] {
            assert_eq!(person_name(v), None, "{v}");
        }
    }

    #[test]
    fn councils_placeholders_are_recognised() {
        for v in [
            "REDACTED",
            "Redacted Personal Data",
            "Personal Information",
            "Name withheld",
            "Withheld - Data Protection Act",
            "[redacted]",
            "Personal Data",
            "Private Individual",
        ] {
            assert!(placeholder(v), "{v}");
        }
        for v in [
            "Acme Ltd",
            "Personal Care Services Ltd",
            "Private Hire Taxis",
            "Data",
        ] {
            assert!(!placeholder(v), "{v}");
        }
    }

    #[test]
    fn nhs_numbers_by_form() {
        assert_eq!(nhs_number("943 476 5919"), Some(NhsForm::Spaced));
        assert_eq!(nhs_number("943-476-5919"), Some(NhsForm::Spaced));
        assert_eq!(nhs_number("9434765919"), Some(NhsForm::Bare));
        assert_eq!(nhs_number("9434765918"), None);
    }
}
