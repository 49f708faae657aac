//! Link rules: values turned into the identifiers everyone else uses. Each rule gives a URI
//! (or a normalised identifier) or nothing: a value that links to nothing is reported by the
//! caller, never given an invented URI.

use serde::{Deserialize, Serialize};

/// What a column's values are linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// A council by GSS or SNAC code, register code, URI or name →
    /// `http://statistics.data.gov.uk/id/statistical-geography/{GSS}`.
    Council,
    /// A date → `http://reference.data.gov.uk/id/day/{yyyy-mm-dd}`.
    Day,
    /// A date → its month, `http://reference.data.gov.uk/id/month/{yyyy-mm}`.
    Month,
    /// A date → its calendar quarter, `http://reference.data.gov.uk/id/quarter/{yyyy}-Q{n}`.
    Quarter,
    /// A date → its government (financial) year, 1 April to 31 March,
    /// `http://reference.data.gov.uk/id/government-year/{yyyy}-{yyyy+1}`.
    GovernmentYear,
    /// A UK postcode → `http://data.ordnancesurvey.co.uk/id/postcodeunit/{POSTCODE}`.
    Postcode,
    /// A Unique Property Reference Number, kept as a normalised identifier (no national URI
    /// pattern for UPRNs is published as linked data).
    Uprn,
    /// A Companies House number → `http://business.data.gov.uk/id/company/{number}`.
    Company,
    /// A registered charity number → the Charity Commission register.
    Charity,
    /// A UK VAT registration number, checked and kept as a normalised identifier (`GB…`).
    Vat,
    /// A supplier's name → one URI per supplier within the council, whatever the spelling:
    /// the key from [`supplier_key`], which the pipeline puts under the council's (or, without
    /// a publisher, the dataset's) supplier IRIs.
    Supplier,
    /// An esd Local Government Service List code → `http://id.esd.org.uk/service/{n}`.
    Service,
}

/// What a link column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An absolute URI.
    Iri,
    /// A normalised identifier, published as a literal.
    Literal,
}

impl LinkKind {
    pub const ALL: [LinkKind; 12] = [
        LinkKind::Council,
        LinkKind::Day,
        LinkKind::Month,
        LinkKind::Quarter,
        LinkKind::GovernmentYear,
        LinkKind::Postcode,
        LinkKind::Uprn,
        LinkKind::Company,
        LinkKind::Charity,
        LinkKind::Vat,
        LinkKind::Supplier,
        LinkKind::Service,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Council => "council",
            LinkKind::Day => "day",
            LinkKind::Month => "month",
            LinkKind::Quarter => "quarter",
            LinkKind::GovernmentYear => "government-year",
            LinkKind::Postcode => "postcode",
            LinkKind::Uprn => "uprn",
            LinkKind::Company => "company",
            LinkKind::Charity => "charity",
            LinkKind::Vat => "vat",
            LinkKind::Supplier => "supplier",
            LinkKind::Service => "service",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            LinkKind::Council => "The council, as its ONS statistical-geography URI.",
            LinkKind::Day => "The day, as its reference.data.gov.uk interval URI.",
            LinkKind::Month => "The month, as its reference.data.gov.uk interval URI.",
            LinkKind::Quarter => "The calendar quarter, as its reference.data.gov.uk interval URI.",
            LinkKind::GovernmentYear => {
                "The government (financial) year, 1 April to 31 March, as its reference.data.gov.uk interval URI."
            }
            LinkKind::Postcode => "The postcode unit, as its Ordnance Survey URI.",
            LinkKind::Uprn => "The Unique Property Reference Number, normalised.",
            LinkKind::Company => "The company, as its Companies House URI.",
            LinkKind::Charity => "The charity, as its Charity Commission register URI.",
            LinkKind::Vat => "The UK VAT registration number, normalised (GB and nine or twelve digits).",
            LinkKind::Supplier => "The supplier, one URI per supplier whatever the spelling of its name.",
            LinkKind::Service => "The service, as its esd Local Government Service List URI.",
        }
    }

    pub fn output(self) -> Output {
        match self {
            LinkKind::Uprn | LinkKind::Vat => Output::Literal,
            _ => Output::Iri,
        }
    }

    /// Whether the rule reads a clean `yyyy-mm-dd` date.
    pub fn reads_dates(self) -> bool {
        matches!(
            self,
            LinkKind::Day | LinkKind::Month | LinkKind::Quarter | LinkKind::GovernmentYear
        )
    }
}

/// Applies link rules, holding what they need (the council list is parsed once).
#[derive(Default)]
pub struct Linker {
    councils: Option<crate::CouncilLinker>,
}

impl Linker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The link of `value` (a clean value: dates are `yyyy-mm-dd`), or `None`.
    pub fn link(&mut self, kind: LinkKind, value: &str) -> Result<Option<String>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        Ok(match kind {
            LinkKind::Council => {
                if self.councils.is_none() {
                    self.councils = Some(crate::CouncilLinker::new()?);
                }
                self.councils
                    .as_ref()
                    .and_then(|c| c.find(value))
                    .map(|a| a.iri())
            }
            LinkKind::Day | LinkKind::Month | LinkKind::Quarter | LinkKind::GovernmentYear => {
                date_interval(kind, value)
            }
            LinkKind::Postcode => crate::postcode_unit(value),
            LinkKind::Uprn => uprn(value),
            LinkKind::Company => crate::company(value),
            LinkKind::Charity => crate::charity(value),
            LinkKind::Vat => vat_number(value),
            LinkKind::Supplier => supplier_key(value),
            LinkKind::Service => crate::esd_service(value),
        })
    }
}

const INTERVALS: &str = "http://reference.data.gov.uk/id/";

fn ymd(value: &str) -> Option<(i32, u32, u32)> {
    let b = value.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = value.get(0..4)?.parse().ok()?;
    let m: u32 = value.get(5..7)?.parse().ok()?;
    let d: u32 = value.get(8..10)?.parse().ok()?;
    if value.len() > 10 && b[10] != b'T' {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    ((1..=12).contains(&m) && d >= 1 && d <= days[m as usize - 1]).then_some((y, m, d))
}

/// The reference.data.gov.uk interval URI of a date (or date-time).
pub fn date_interval(kind: LinkKind, value: &str) -> Option<String> {
    let (y, m, d) = ymd(value)?;
    match kind {
        LinkKind::Day => Some(format!("{INTERVALS}day/{y:04}-{m:02}-{d:02}")),
        LinkKind::Month => Some(format!("{INTERVALS}month/{y:04}-{m:02}")),
        LinkKind::Quarter => Some(format!("{INTERVALS}quarter/{y:04}-Q{}", (m - 1) / 3 + 1)),
        LinkKind::GovernmentYear => {
            let start = if m >= 4 { y } else { y - 1 };
            Some(format!(
                "{INTERVALS}government-year/{start:04}-{:04}",
                start + 1
            ))
        }
        _ => None,
    }
}

/// A UPRN: one to twelve digits, leading zeros dropped (`000000199356` → `199356`).
pub fn uprn(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v.strip_suffix(".0").unwrap_or(v);
    if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = v.trim_start_matches('0');
    (!n.is_empty()).then(|| n.to_string())
}

/// A UK VAT registration number, checked with HMRC's modulus 97 (or 97-55) rule:
/// `GB 123 4567 89` → `GB123456789`; branch traders' twelve digits and government
/// departments (`GD`) and health authorities (`HA`) are kept too.
pub fn vat_number(value: &str) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect::<String>()
        .to_ascii_uppercase();
    let rest = compact.strip_prefix("GB").unwrap_or(&compact);
    if let Some(n) = rest.strip_prefix("GD").or_else(|| rest.strip_prefix("HA")) {
        let ok = n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit());
        return ok.then(|| format!("GB{rest}"));
    }
    if !(rest.len() == 9 || rest.len() == 12) || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d: Vec<i64> = rest.bytes().take(9).map(|b| (b - b'0') as i64).collect();
    let weighted: i64 = (0..7).map(|i| d[i] * (8 - i as i64)).sum();
    let check = d[7] * 10 + d[8];
    let total = weighted + check;
    (total % 97 == 0 || (total + 55) % 97 == 0).then(|| format!("GB{rest}"))
}

/// Words that do not tell suppliers apart: legal forms and the like.
const SUPPLIER_NOISE: &[&str] = &[
    "ltd",
    "limited",
    "plc",
    "llp",
    "lp",
    "inc",
    "incorporated",
    "cic",
    "cio",
    "co",
    "company",
];

/// One key per supplier, whatever the spelling of its name within a council's files:
/// case, punctuation, `&`/`and`, a leading `The` and trailing legal forms (`Ltd`, `Limited`,
/// `PLC`, `LLP`…) are ignored. `"ACME Services Ltd."`, `"Acme Services Limited"` and
/// `"The Acme Services Ltd"` all give `acme-services`.
pub fn supplier_key(name: &str) -> Option<String> {
    let lower = name
        .to_lowercase()
        .replace('&', " and ")
        .replace(['\'', '’'], "");
    let mut words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.first() == Some(&"the") && words.len() > 1 {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| SUPPLIER_NOISE.contains(w)) {
        words.pop();
    }
    if words.is_empty() {
        return None;
    }
    Some(words.join("-"))
}

/// OSGB36 National Grid easting and northing (metres) → WGS84 latitude and longitude
/// (degrees), computed: the inverse Transverse Mercator projection on the Airy 1830
/// ellipsoid, then a seven-parameter Helmert transformation to WGS84. Accurate to a few
/// metres (OSTN15 would give centimetres but needs its 15 MB grid). `None` outside the grid.
pub fn osgb36_to_wgs84(easting: f64, northing: f64) -> Option<(f64, f64)> {
    // NaN is in no range, so the ranges also refuse non-finite values.
    let on_grid = (0.0..=700_000.0).contains(&easting) && (0.0..=1_300_000.0).contains(&northing);
    if !on_grid {
        return None;
    }
    let (lat, lon) = national_grid_to_osgb36(easting, northing);
    Some(osgb36_latlon_to_wgs84(lat, lon))
}

/// Inverse Transverse Mercator: National Grid → OSGB36 latitude and longitude (radians).
pub fn national_grid_to_osgb36(e: f64, n: f64) -> (f64, f64) {
    // Airy 1830 and the National Grid's projection (OS, "A guide to coordinate systems in
    // Great Britain", annex C).
    let (a, b) = (6_377_563.396_f64, 6_356_256.909_f64);
    let f0 = 0.999_601_271_7_f64;
    let lat0 = 49f64.to_radians();
    let lon0 = (-2f64).to_radians();
    let (n0, e0) = (-100_000.0_f64, 400_000.0_f64);
    let e2 = 1.0 - (b * b) / (a * a);
    let nn = (a - b) / (a + b);
    let (n2, n3) = (nn * nn, nn * nn * nn);
    let meridional = |lat: f64| {
        let (d, s) = (lat - lat0, lat + lat0);
        b * f0
            * ((1.0 + nn + 1.25 * n2 + 1.25 * n3) * d
                - (3.0 * nn + 3.0 * n2 + 2.625 * n3) * d.sin() * s.cos()
                + (1.875 * n2 + 1.875 * n3) * (2.0 * d).sin() * (2.0 * s).cos()
                - (35.0 / 24.0) * n3 * (3.0 * d).sin() * (3.0 * s).cos())
    };
    let mut lat = lat0;
    let mut m = 0.0;
    for _ in 0..100 {
        lat += (n - n0 - m) / (a * f0);
        m = meridional(lat);
        if (n - n0 - m).abs() < 1e-5 {
            break;
        }
    }
    let (sin, cos) = lat.sin_cos();
    let tan = lat.tan();
    let nu = a * f0 / (1.0 - e2 * sin * sin).sqrt();
    let rho = a * f0 * (1.0 - e2) / (1.0 - e2 * sin * sin).powf(1.5);
    let eta2 = nu / rho - 1.0;
    let sec = 1.0 / cos;
    let vii = tan / (2.0 * rho * nu);
    let viii =
        tan / (24.0 * rho * nu.powi(3)) * (5.0 + 3.0 * tan * tan + eta2 - 9.0 * tan * tan * eta2);
    let ix = tan / (720.0 * rho * nu.powi(5)) * (61.0 + 90.0 * tan * tan + 45.0 * tan.powi(4));
    let x = sec / nu;
    let xi = sec / (6.0 * nu.powi(3)) * (nu / rho + 2.0 * tan * tan);
    let xii = sec / (120.0 * nu.powi(5)) * (5.0 + 28.0 * tan * tan + 24.0 * tan.powi(4));
    let xiia = sec / (5040.0 * nu.powi(7))
        * (61.0 + 662.0 * tan * tan + 1320.0 * tan.powi(4) + 720.0 * tan.powi(6));
    let de = e - e0;
    let lat_out = lat - vii * de.powi(2) + viii * de.powi(4) - ix * de.powi(6);
    let lon_out = lon0 + x * de - xi * de.powi(3) + xii * de.powi(5) - xiia * de.powi(7);
    (lat_out, lon_out)
}

/// OSGB36 latitude and longitude (radians) → WGS84 (degrees) by Helmert transformation.
fn osgb36_latlon_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    let (a1, b1) = (6_377_563.396_f64, 6_356_256.909_f64);
    let (a2, b2) = (6_378_137.0_f64, 6_356_752.314_245_f64);
    let e2a = 1.0 - (b1 * b1) / (a1 * a1);
    let nu = a1 / (1.0 - e2a * lat.sin().powi(2)).sqrt();
    let (x1, y1, z1) = (
        nu * lat.cos() * lon.cos(),
        nu * lat.cos() * lon.sin(),
        (1.0 - e2a) * nu * lat.sin(),
    );
    // OSGB36 → WGS84 (the inverse of the OS's published WGS84 → OSGB36 parameters).
    let (tx, ty, tz) = (446.448_f64, -125.157_f64, 542.060_f64);
    let s = -20.4894e-6_f64;
    let sec = |v: f64| (v / 3600.0).to_radians();
    let (rx, ry, rz) = (sec(0.1502), sec(0.2470), sec(0.8421));
    let x2 = tx + (1.0 + s) * x1 - rz * y1 + ry * z1;
    let y2 = ty + rz * x1 + (1.0 + s) * y1 - rx * z1;
    let z2 = tz - ry * x1 + rx * y1 + (1.0 + s) * z1;
    let e2b = 1.0 - (b2 * b2) / (a2 * a2);
    let p = (x2 * x2 + y2 * y2).sqrt();
    let mut phi = (z2 / (p * (1.0 - e2b))).atan();
    for _ in 0..20 {
        let nu2 = a2 / (1.0 - e2b * phi.sin().powi(2)).sqrt();
        let next = ((z2 + e2b * nu2 * phi.sin()) / p).atan();
        if (next - phi).abs() < 1e-13 {
            phi = next;
            break;
        }
        phi = next;
    }
    (phi.to_degrees(), y2.atan2(x2).to_degrees())
}

/// Latitude and longitude written as decimals to 6 places (about 0.1 m).
pub fn format_degrees(v: f64) -> String {
    let s = format!("{v:.6}");
    if s == "-0.000000" {
        "0.000000".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let l = |k, v| date_interval(k, v);
        assert_eq!(
            l(LinkKind::Day, "2024-02-29").as_deref(),
            Some("http://reference.data.gov.uk/id/day/2024-02-29")
        );
        assert_eq!(
            l(LinkKind::Month, "2024-02-29").as_deref(),
            Some("http://reference.data.gov.uk/id/month/2024-02")
        );
        assert_eq!(
            l(LinkKind::Quarter, "2024-11-03").as_deref(),
            Some("http://reference.data.gov.uk/id/quarter/2024-Q4")
        );
        assert_eq!(
            l(LinkKind::GovernmentYear, "2024-03-31").as_deref(),
            Some("http://reference.data.gov.uk/id/government-year/2023-2024")
        );
        assert_eq!(
            l(LinkKind::GovernmentYear, "2024-04-01").as_deref(),
            Some("http://reference.data.gov.uk/id/government-year/2024-2025")
        );
        for bad in ["2023-02-29", "2024-13-01", "24-01-01", "01/02/2024", ""] {
            assert!(l(LinkKind::Day, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn suppliers_spelt_differently_get_one_key() {
        for v in [
            "ACME Services Ltd.",
            "Acme Services Limited",
            "The Acme Services Ltd",
            " acme  services ",
            "Acme Services LTD",
        ] {
            assert_eq!(supplier_key(v).as_deref(), Some("acme-services"), "{v}");
        }
        assert_eq!(
            supplier_key("Marks & Spencer PLC").as_deref(),
            Some("marks-and-spencer")
        );
        assert_eq!(
            supplier_key("Marks and Spencer plc").as_deref(),
            Some("marks-and-spencer")
        );
        assert_ne!(supplier_key("Acme Holdings Ltd"), supplier_key("Acme Ltd"));
        assert_eq!(supplier_key("Limited").as_deref(), Some("limited"));
        assert!(supplier_key(" .. ").is_none());
    }

    #[test]
    fn vat_numbers_are_checked() {
        // 123 4567 82: 1*8+2*7+3*6+4*5+5*4+6*3+7*2 = 112; 112 + 82 = 194 = 2 * 97.
        assert_eq!(vat_number("GB 123 4567 82").as_deref(), Some("GB123456782"));
        assert_eq!(vat_number("123456782").as_deref(), Some("GB123456782"));
        assert_eq!(
            vat_number("123456782001").as_deref(),
            Some("GB123456782001")
        );
        assert!(vat_number("GB 123 4567 83").is_none());
        assert!(vat_number("12345").is_none());
        assert_eq!(vat_number("GBGD001").as_deref(), Some("GBGD001"));
    }

    #[test]
    fn uprns() {
        assert_eq!(uprn("100023336956").as_deref(), Some("100023336956"));
        assert_eq!(uprn("000000199356").as_deref(), Some("199356"));
        assert_eq!(uprn("199356.0").as_deref(), Some("199356"));
        for bad in ["", "0", "1234567890123", "12a"] {
            assert!(uprn(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn national_grid_inverse_projection_matches_the_os_worked_example() {
        // OS, "A guide to coordinate systems in Great Britain", worked example C.2:
        // E 651409.903, N 313177.270 → 52°39'27.2531"N, 1°43'4.5177"E (OSGB36).
        let (lat, lon) = national_grid_to_osgb36(651_409.903, 313_177.270);
        let dms = |d: f64, m: f64, s: f64| d + m / 60.0 + s / 3600.0;
        assert!(
            (lat.to_degrees() - dms(52.0, 39.0, 27.2531)).abs() < 2e-8,
            "{}",
            lat.to_degrees()
        );
        assert!(
            (lon.to_degrees() - dms(1.0, 43.0, 4.5177)).abs() < 2e-8,
            "{}",
            lon.to_degrees()
        );
    }

    #[test]
    fn osgb36_to_wgs84_moves_by_the_datum_shift() {
        // The datum shift between OSGB36 and WGS84 is about 70-130 m across Great Britain;
        // WGS84 longitudes are west of OSGB36 ones in England.
        for (e, n) in [
            (651_409.903, 313_177.270),
            (378_000.0, 396_000.0),
            (530_000.0, 180_000.0),
        ] {
            let (lat0, lon0) = national_grid_to_osgb36(e, n);
            let (lat, lon) = osgb36_to_wgs84(e, n).unwrap();
            let dy = (lat - lat0.to_degrees()) * 111_320.0;
            let dx = (lon - lon0.to_degrees()) * 111_320.0 * lat.to_radians().cos();
            let d = (dx * dx + dy * dy).sqrt();
            assert!((60.0..=140.0).contains(&d), "{e},{n}: {d} m");
            assert!(dx < 0.0, "{e},{n}: {dx}");
        }
        assert!(osgb36_to_wgs84(-1.0, 5.0).is_none());
        assert!(osgb36_to_wgs84(f64::NAN, 5.0).is_none());
    }
}
