//! What councils' data shares: the vocabularies fivestar's data uses and the UK local-authority
//! reference list, built into the binary from `vocab/`.
//!
//! [`vocabulary`] gives the Turtle documents for the store's vocabulary graph: the vendored W3C
//! vocabularies, the terms fivestar writes for vocabularies with no file to vendor (the UK
//! Payments ontology among them), and every local authority with a GSS code described under its
//! statistical-geography URI with names and codes, so that a council's URI shows its name.

pub mod detect;
pub mod links;
pub mod template;
pub mod wide;

pub use detect::{detect, rank, Fit};
pub use links::{LinkKind, Linker};
pub use template::{Template, TEMPLATE_IDS};

use oxrdf::vocab::rdf;
use oxrdf::{Literal, NamedNode, Triple};
use oxrdfio::{RdfFormat, RdfSerializer};

/// The vocabulary documents built in: (file under `vocab/`, Turtle).
pub const DOCUMENTS: &[(&str, &str)] = &[
    ("w3c/org.ttl", include_str!("../../../vocab/w3c/org.ttl")),
    (
        "w3c/dcat3.ttl",
        include_str!("../../../vocab/w3c/dcat3.ttl"),
    ),
    (
        "w3c/prov-o.ttl",
        include_str!("../../../vocab/w3c/prov-o.ttl"),
    ),
    ("w3c/csvw.ttl", include_str!("../../../vocab/w3c/csvw.ttl")),
    (
        "w3c/sparql-service-description.ttl",
        include_str!("../../../vocab/w3c/sparql-service-description.ttl"),
    ),
    (
        "w3c/regorg.ttl",
        include_str!("../../../vocab/w3c/regorg.ttl"),
    ),
    ("w3c/dqv.ttl", include_str!("../../../vocab/w3c/dqv.ttl")),
    (
        "terms/payment.ttl",
        include_str!("../../../vocab/terms/payment.ttl"),
    ),
    (
        "terms/common.ttl",
        include_str!("../../../vocab/terms/common.ttl"),
    ),
];

const AUTHORITIES_CSV: &str =
    include_str!("../../../vocab/reference/uk_local_authorities_current.csv");

/// OpenDataCommunities council URIs and the GSS code of each (`odc_localgov.csv`, deduplicated).
const ODC_CSV: &str = include_str!("../../../vocab/reference/odc_councils.csv");

/// The org-id.guide schemes whose identifiers are GOV.UK register codes of councils
/// (`GB-LAE-TRF`: England; Scotland, Wales and Northern Ireland have their own lists).
const ORG_ID_SCHEMES: &[&str] = &["LAE", "LAS", "SLA", "PLA", "LANI", "NIA"];

/// The statistical-geography namespace councils are identified in.
pub const STATISTICAL_GEOGRAPHY: &str = "http://statistics.data.gov.uk/id/statistical-geography/";

/// A UK local authority, from the reference list.
#[derive(Debug, Clone, PartialEq)]
pub struct Authority {
    /// The three-letter register code (TRF).
    pub code: String,
    pub official_name: String,
    pub nice_name: String,
    /// The ONS GSS code (E08000009).
    pub gss: String,
    /// Name variants, as the list gives them.
    pub alt_names: Vec<String>,
    /// The old ONS/SNAC code (00BU).
    pub snac: Option<String>,
    /// GSS codes the authority had before (boundary or code changes).
    pub former_gss: Vec<String>,
    pub current: bool,
}

impl Authority {
    pub fn iri(&self) -> String {
        format!("{STATISTICAL_GEOGRAPHY}{}", self.gss)
    }
}

/// Every authority in the reference list that has a GSS code.
pub fn authorities() -> Result<Vec<Authority>, String> {
    let mut reader = csv::Reader::from_reader(AUTHORITIES_CSV.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("the local-authority list has no column {name:?}"))
    };
    let (code, official, nice, gss, alt, snac, current) = (
        col("local-authority-code")?,
        col("official-name")?,
        col("nice-name")?,
        col("gss-code")?,
        col("alt-names")?,
        col("snac")?,
        col("current-authority")?,
    );
    let former = col("former-gss-codes")?;
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("local-authority list row {}: {e}", i + 2))?;
        let get = |k: usize| row.get(k).unwrap_or("").trim().to_string();
        let gss = get(gss);
        if gss.is_empty() {
            continue;
        }
        let mut alt_names: Vec<String> = Vec::new();
        for a in get(alt).split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if !alt_names.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                alt_names.push(a.to_string());
            }
        }
        let snac = get(snac);
        out.push(Authority {
            code: get(code),
            official_name: get(official),
            nice_name: get(nice),
            gss,
            alt_names,
            snac: (!snac.is_empty()).then_some(snac),
            former_gss: get(former)
                .split([',', ';', ' '])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect(),
            current: get(current) == "True",
        });
    }
    Ok(out)
}

/// The authorities as Turtle: label, preferred and alternative labels, GSS and SNAC notations.
pub fn authorities_turtle() -> Result<Vec<u8>, String> {
    let rdfs_label = NamedNode::new_unchecked("http://www.w3.org/2000/01/rdf-schema#label");
    let skos =
        |l: &str| NamedNode::new_unchecked(format!("http://www.w3.org/2004/02/skos/core#{l}"));
    let org_class = NamedNode::new_unchecked("http://www.w3.org/ns/org#Organization");
    let gss_type = NamedNode::new_unchecked(format!("{STATISTICAL_GEOGRAPHY}gss-code"));
    let snac_type = NamedNode::new_unchecked(format!("{STATISTICAL_GEOGRAPHY}snac-code"));
    let mut ser = RdfSerializer::from_format(RdfFormat::Turtle)
        .with_prefix("skos", "http://www.w3.org/2004/02/skos/core#")
        .and_then(|s| s.with_prefix("rdfs", "http://www.w3.org/2000/01/rdf-schema#"))
        .and_then(|s| s.with_prefix("sg", STATISTICAL_GEOGRAPHY))
        .map_err(|e| e.to_string())?
        .for_writer(Vec::new());
    for a in authorities()? {
        let s = NamedNode::new(a.iri()).map_err(|e| format!("{}: {e}", a.gss))?;
        let mut triples = vec![
            Triple::new(s.clone(), rdf::TYPE, org_class.clone()),
            Triple::new(
                s.clone(),
                rdfs_label.clone(),
                Literal::new_language_tagged_literal_unchecked(&a.official_name, "en"),
            ),
            Triple::new(
                s.clone(),
                skos("prefLabel"),
                Literal::new_language_tagged_literal_unchecked(&a.official_name, "en"),
            ),
            Triple::new(
                s.clone(),
                skos("notation"),
                Literal::new_typed_literal(&a.gss, gss_type.clone()),
            ),
        ];
        let mut alts = vec![a.nice_name.clone()];
        alts.extend(a.alt_names.iter().cloned());
        let mut seen = vec![a.official_name.to_lowercase()];
        for alt in alts {
            if !alt.is_empty() && !seen.contains(&alt.to_lowercase()) {
                seen.push(alt.to_lowercase());
                triples.push(Triple::new(
                    s.clone(),
                    skos("altLabel"),
                    Literal::new_language_tagged_literal_unchecked(&alt, "en"),
                ));
            }
        }
        if let Some(snac) = &a.snac {
            triples.push(Triple::new(
                s.clone(),
                skos("notation"),
                Literal::new_typed_literal(snac, snac_type.clone()),
            ));
        }
        for t in &triples {
            ser.serialize_triple(t).map_err(|e| e.to_string())?;
        }
    }
    ser.finish().map_err(|e| e.to_string())
}

/// Finds the council a value names: a GSS code (current or former), an old ONS/SNAC code
/// (`00BU`), a register code (`TRF`), an OpenDataCommunities or statistical-geography URI
/// ending in a GSS code, or a name or name variant (matched ignoring case, spaces and
/// punctuation, with "council", "borough", "city" and similar words optional).
pub struct CouncilLinker {
    by_key: std::collections::HashMap<String, Option<usize>>,
    authorities: Vec<Authority>,
}

/// A GSS code: a letter and eight digits (E08000009).
fn is_gss(s: &str) -> bool {
    s.len() == 9
        && s.as_bytes()[0].is_ascii_alphabetic()
        && s.as_bytes()[1..].iter().all(u8::is_ascii_digit)
}

/// An old ONS (SNAC) council code: two digits and two letters (00BU, 45UB).
fn is_snac(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 4
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..].iter().all(u8::is_ascii_alphabetic)
}

/// Lower-case letters and digits only.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A name without the words councils add to it.
fn bare_name(s: &str) -> String {
    const NOISE: &[&str] = &[
        "council",
        "borough",
        "metropolitan",
        "city",
        "county",
        "district",
        "of",
        "the",
        "and",
        "royal",
        "london",
        "mbc",
        "bc",
        "cc",
        "dc",
    ];
    let lower = s.to_lowercase().replace('&', " and ");
    let words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .map(String::from)
        .collect();
    words.concat()
}

impl CouncilLinker {
    pub fn new() -> Result<Self, String> {
        let authorities = authorities()?;
        let mut by_key: std::collections::HashMap<String, Option<usize>> = Default::default();
        // A key two authorities share (a name reused after a reorganisation) links to neither,
        // unless one of them is current.
        let add = |key: String,
                   i: usize,
                   current: bool,
                   map: &mut std::collections::HashMap<String, Option<usize>>,
                   all: &[Authority]| {
            if key.is_empty() {
                return;
            }
            match map.get(&key) {
                None => {
                    map.insert(key, Some(i));
                }
                Some(Some(j)) if *j != i => {
                    let keep = match (all[*j].current, current) {
                        (true, false) => Some(*j),
                        (false, true) => Some(i),
                        _ => None,
                    };
                    map.insert(key, keep);
                }
                _ => {}
            }
        };
        for (i, a) in authorities.iter().enumerate() {
            let c = a.current;
            add(squash(&a.gss), i, c, &mut by_key, &authorities);
            for f in &a.former_gss {
                add(squash(f), i, c, &mut by_key, &authorities);
            }
            if let Some(snac) = &a.snac {
                add(squash(snac), i, c, &mut by_key, &authorities);
            }
            add(
                format!("register:{}", squash(&a.code)),
                i,
                c,
                &mut by_key,
                &authorities,
            );
            for name in std::iter::once(&a.official_name)
                .chain(std::iter::once(&a.nice_name))
                .chain(a.alt_names.iter())
            {
                add(
                    format!("name:{}", squash(name)),
                    i,
                    c,
                    &mut by_key,
                    &authorities,
                );
                add(
                    format!("bare:{}", bare_name(name)),
                    i,
                    c,
                    &mut by_key,
                    &authorities,
                );
            }
        }
        // OpenDataCommunities URIs, keyed by host and path, through the GSS code they give.
        let mut reader = csv::Reader::from_reader(ODC_CSV.as_bytes());
        for row in reader.records() {
            let row = row.map_err(|e| format!("the OpenDataCommunities list: {e}"))?;
            let (Some(uri), Some(gss)) = (row.get(0), row.get(1)) else {
                continue;
            };
            let Some(Some(i)) = by_key.get(&squash(gss)).copied() else {
                continue;
            };
            let path = uri.split_once("://").map(|(_, p)| p).unwrap_or(uri);
            by_key.insert(format!("odc:{}", path.to_ascii_lowercase()), Some(i));
        }
        Ok(CouncilLinker {
            by_key,
            authorities,
        })
    }

    /// The authority `value` names, if exactly one fits.
    pub fn find(&self, value: &str) -> Option<&Authority> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        let get = |k: String| {
            self.by_key
                .get(&k)
                .copied()
                .flatten()
                .map(|i| &self.authorities[i])
        };
        // An org-id identifier: `GB-LAE-TRF` is the register code TRF.
        let upper = v.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("GB-") {
            if let Some((scheme, code)) = rest.split_once('-') {
                if ORG_ID_SCHEMES.contains(&scheme) {
                    return get(format!("register:{}", squash(code)));
                }
            }
        }
        // A URI (any case of scheme), or a path: an OpenDataCommunities council URI, or a
        // GSS or SNAC code in any segment, the last first.
        let lower = v.to_ascii_lowercase();
        let is_uri = lower.starts_with("http://") || lower.starts_with("https://");
        if is_uri || v.starts_with('/') {
            let path = match lower.find("://") {
                Some(i) => &v[i + 3..],
                None => v,
            };
            let path = path.split(['?', '#']).next().unwrap_or(path);
            let key = format!("odc:{}", path.trim_end_matches('/').to_ascii_lowercase());
            if let Some(a) = get(key) {
                return Some(a);
            }
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            for seg in segments.iter().skip(usize::from(is_uri)).rev() {
                if is_gss(seg) || is_snac(seg) {
                    if let Some(a) = get(squash(seg)) {
                        return Some(a);
                    }
                }
            }
            return None;
        }
        // A code at the end of something else: `…#E08000009`.
        let last = v
            .trim_end_matches('/')
            .rsplit(['/', '#'])
            .next()
            .unwrap_or(v);
        if is_gss(last) {
            if let Some(a) = get(squash(last)) {
                return Some(a);
            }
        }
        if v.len() <= 4 && v.chars().all(|c| c.is_ascii_alphanumeric()) {
            if let Some(a) = get(squash(v)) {
                return Some(a);
            }
            if v.len() == 3 {
                if let Some(a) = get(format!("register:{}", squash(v))) {
                    return Some(a);
                }
            }
        }
        get(format!("name:{}", squash(v))).or_else(|| {
            let bare = bare_name(v);
            (!bare.is_empty())
                .then(|| get(format!("bare:{bare}")))
                .flatten()
        })
    }
}

const ESD_XML: &str = include_str!("../../../vocab/reference/esd_functions_services.xml");

/// The esd Local Government Service List codes in the vendored list.
fn esd_services() -> &'static std::collections::HashSet<u32> {
    static SET: std::sync::OnceLock<std::collections::HashSet<u32>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        ESD_XML
            .split("http://id.esd.org.uk/service/")
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect()
    })
}

/// An esd service code (`190`, `LGSL 190`) → `http://id.esd.org.uk/service/190`, if the list
/// has it.
pub fn esd_service(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v
        .strip_prefix("LGSL")
        .or_else(|| v.strip_prefix("lgsl"))
        .unwrap_or(v)
        .trim_start_matches([':', ' ']);
    let v = v.rsplit('/').next().unwrap_or(v);
    let n: u32 = v.parse().ok()?;
    esd_services()
        .contains(&n)
        .then(|| format!("http://id.esd.org.uk/service/{n}"))
}

/// A UK postcode, normalised (upper case, no spaces) → its Ordnance Survey postcode-unit URI.
pub fn postcode_unit(value: &str) -> Option<String> {
    let p: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let b = p.as_bytes();
    // Inward code: digit + two letters; outward: 2-4 characters starting with a letter.
    let ok = (5..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[b.len() - 3].is_ascii_digit()
        && b[b.len() - 2..].iter().all(u8::is_ascii_uppercase)
        && b[..b.len() - 3].iter().any(u8::is_ascii_digit);
    ok.then(|| format!("http://data.ordnancesurvey.co.uk/id/postcodeunit/{p}"))
}

/// A Companies House number (`1234567`, `01234567`, `SC123456`) →
/// `http://business.data.gov.uk/id/company/{number}` with the number in its 8-character form.
pub fn company(value: &str) -> Option<String> {
    let v: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let number = if !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{v:0>8}")
    } else if v.len() == 8
        && v.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && v.as_bytes()[2..].iter().all(u8::is_ascii_digit)
    {
        v
    } else {
        return None;
    };
    (number != "00000000").then(|| format!("http://business.data.gov.uk/id/company/{number}"))
}

/// A registered charity number for England and Wales (`1123456`, `220949`, `1123456-1`) →
/// its page on the Charity Commission register.
pub fn charity(value: &str) -> Option<String> {
    let v = value.trim();
    let main = v.split('-').next().unwrap_or(v).trim();
    let ok = (6..=7).contains(&main.len()) && main.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| {
        format!(
            "https://register-of-charities.charitycommission.gov.uk/charity-search/-/charity-details/{main}"
        )
    })
}

/// Every document of the vocabulary graph, as Turtle: the built-in vocabularies, fivestar's
/// own terms (under `{base}/def/fivestar#`) and the authorities.
pub fn vocabulary(base: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut docs: Vec<Vec<u8>> = DOCUMENTS
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect();
    docs.push(template::own_vocabulary(base)?);
    docs.push(authorities_turtle()?);
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_parses() {
        for doc in vocabulary("http://example.org").unwrap() {
            let n = oxrdfio::RdfParser::from_format(RdfFormat::Turtle)
                .for_reader(doc.as_slice())
                .map(|q| q.map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .len();
            assert!(n > 20, "{n} triples");
        }
    }

    #[test]
    fn councils_are_found_by_code_uri_and_name() {
        let l = CouncilLinker::new().unwrap();
        for v in [
            "E08000009",
            "e08000009 ",
            "00BU",
            "TRF",
            "http://statistics.data.gov.uk/id/statistical-geography/E08000009",
            "http://opendatacommunities.org/id/metropolitan-district-council/trafford/E08000009",
            "https://opendatacommunities.org/id/metropolitan-district-council/trafford",
            "http://opendatacommunities.org/id/metropolitan-district-council/trafford/",
            "Http://statistics.data.gov.uk/id/statistical-geography/E08000009",
            "HTTPS://STATISTICS.DATA.GOV.UK/id/statistical-geography/E08000009",
            "http://statistics.data.gov.uk/id/local-authority/00BU",
            "http://example.gov.uk/doc/local-authority/00BU/spending",
            "/doc/local-authority/00BU",
            "GB-LAE-TRF",
            "gb-lae-trf",
            "Trafford Council",
            "Trafford Metropolitan Borough Council",
            "TRAFFORD MBC",
            "trafford",
        ] {
            assert_eq!(l.find(v).map(|a| a.gss.as_str()), Some("E08000009"), "{v}");
        }
        assert_eq!(
            l.find("Leeds City Council").map(|a| a.gss.as_str()),
            Some("E08000035")
        );
        assert_eq!(l.find("00DA").map(|a| a.gss.as_str()), Some("E08000035"));
        // org-id codes of the four nations' lists are GOV.UK register codes.
        for (v, gss) in [
            ("GB-SLA-ELS", "S12000013"),
            ("GB-PLA-CRF", "W06000015"),
            ("GB-LANI-BFS", "N09000003"),
        ] {
            assert_eq!(l.find(v).map(|a| a.gss.as_str()), Some(gss), "{v}");
        }
        assert_eq!(
            l.find("http://opendatacommunities.org/id/london-borough-council/camden")
                .map(|a| a.gss.as_str()),
            Some("E09000007")
        );
        for v in [
            "",
            "Gotham City Council",
            "E99999999",
            "XYZ",
            "Council",
            "GB-LAE-XYZ",
            "GB-COH-01234567",
            "http://example.org/id/thing/12",
            "http://opendatacommunities.org/id/district-council/gotham",
        ] {
            assert!(l.find(v).is_none(), "{v}");
        }
    }

    #[test]
    fn other_national_identifiers() {
        assert_eq!(
            postcode_unit(" m32 0th ").as_deref(),
            Some("http://data.ordnancesurvey.co.uk/id/postcodeunit/M320TH")
        );
        assert_eq!(
            postcode_unit("SW1A 1AA").as_deref(),
            Some("http://data.ordnancesurvey.co.uk/id/postcodeunit/SW1A1AA")
        );
        for bad in ["", "M32", "12345", "M32 0T", "Trafford", "M32 0THX"] {
            assert!(postcode_unit(bad).is_none(), "{bad}");
        }
        assert_eq!(
            company("1234567").as_deref(),
            Some("http://business.data.gov.uk/id/company/01234567")
        );
        assert_eq!(
            company("sc123456").as_deref(),
            Some("http://business.data.gov.uk/id/company/SC123456")
        );
        for bad in ["", "0", "ABC", "123456789", "S1234567"] {
            assert!(company(bad).is_none(), "{bad}");
        }
        assert!(charity("1123456").unwrap().ends_with("/1123456"));
        assert!(charity("220949-1").unwrap().ends_with("/220949"));
        assert!(charity("12345").is_none() && charity("abc").is_none());
        assert_eq!(
            esd_service("190").as_deref(),
            Some("http://id.esd.org.uk/service/190")
        );
        assert_eq!(
            esd_service("LGSL 190").as_deref(),
            Some("http://id.esd.org.uk/service/190")
        );
        assert!(esd_service("999999").is_none() && esd_service("x").is_none());
        assert_eq!(esd_services().len(), 1127);
    }

    #[test]
    fn trafford_and_leeds_have_their_codes() {
        let all = authorities().unwrap();
        let trafford = all.iter().find(|a| a.gss == "E08000009").unwrap();
        assert_eq!(
            trafford.official_name,
            "Trafford Metropolitan Borough Council"
        );
        assert_eq!(trafford.snac.as_deref(), Some("00BU"));
        assert_eq!(
            trafford.iri(),
            "http://statistics.data.gov.uk/id/statistical-geography/E08000009"
        );
        assert!(all
            .iter()
            .any(|a| a.snac.as_deref() == Some("00DA") && a.nice_name == "Leeds"));
        assert!(all.len() > 400, "{}", all.len());
        let ttl = String::from_utf8(authorities_turtle().unwrap()).unwrap();
        assert!(ttl.contains("Trafford Metropolitan Borough Council"));
    }
}
