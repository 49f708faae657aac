//! What councils' data shares: the vocabularies fivestar's data uses and the UK local-authority
//! reference list, built into the binary from `vocab/`.
//!
//! [`vocabulary`] gives the Turtle documents for the store's vocabulary graph: the vendored W3C
//! vocabularies, the terms fivestar writes for vocabularies with no file to vendor (the UK
//! Payments ontology among them), and every local authority with a GSS code described under its
//! statistical-geography URI with names and codes, so that a council's URI shows its name.

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

/// Every document of the vocabulary graph, as Turtle: the built-in vocabularies and the
/// authorities.
pub fn vocabulary() -> Result<Vec<Vec<u8>>, String> {
    let mut docs: Vec<Vec<u8>> = DOCUMENTS
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect();
    docs.push(authorities_turtle()?);
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_parses() {
        for doc in vocabulary().unwrap() {
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
