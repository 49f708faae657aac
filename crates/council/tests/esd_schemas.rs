//! Every field of the LGA/esd transparency-code schemas (`../shared/reference/esd_schemas/`)
//! is a column of the matching template, by its schema name: a council that publishes in the
//! LGA's own column names gets every column mapped.

use fivestar_council::Template;
use std::path::PathBuf;

fn schemas() -> PathBuf {
    // The run-time variable first: a shared target folder may hold a build of another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
    PathBuf::from(dir).join("../../../shared/reference/esd_schemas")
}

/// A schema file as text: UTF-8 with or without a BOM, or UTF-16LE without one (as five of
/// them are).
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if bytes.len() > 1 && bytes[1] == 0 {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// (name, title) of each field. `public_toilets.json` is not valid JSON (a `\.` in a regular
/// expression): that escape is doubled before parsing.
fn fields(file: &str) -> Vec<(String, String)> {
    let path = schemas().join(file);
    let text = decode(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let doc: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&text.replace("\\.", "\\\\.")))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    doc["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no fields"))
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_string(),
                f["title"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_lga_schema_field_is_a_template_column() {
    let pairs = [
        ("spend.json", "spend"),
        ("contracts.json", "contracts"),
        ("land_and_building.json", "land-assets"),
        ("organisation_structure.json", "organisation-chart"),
        ("senior_employees.json", "senior-salaries"),
        ("planning_applications.json", "planning-applications"),
        ("premises_licences.json", "premises-licences"),
        ("public_toilets.json", "public-toilets"),
    ];
    let mut missing = Vec::new();
    let mut total = 0;
    for (file, id) in pairs {
        let t = Template::get(id).unwrap();
        let fields = fields(file);
        assert!(fields.len() >= 16, "{file}: {} fields", fields.len());
        for (name, _title) in fields {
            total += 1;
            if t.column_for_header(&name).is_none() {
                missing.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "no template column takes {missing:#?}");
    assert_eq!(total, 230);
}

#[test]
fn the_organisation_fields_link_the_council() {
    for id in [
        "spend",
        "contracts",
        "land-assets",
        "organisation-chart",
        "senior-salaries",
        "planning-applications",
        "premises-licences",
        "public-toilets",
    ] {
        let t = Template::get(id).unwrap();
        for header in ["OrganisationURI", "OrganisationLabel"] {
            let c = t
                .column_for_header(header)
                .unwrap_or_else(|| panic!("{id}: {header}"));
            assert!(
                c.links
                    .iter()
                    .any(|l| l.kind == fivestar_council::LinkKind::Council),
                "{id}: {header} → {} links no council",
                c.name
            );
        }
    }
}
