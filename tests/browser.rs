//! Pages in a real browser: headless Chromium renders the home page, a dataset page and the
//! query page from a served store; the test fails if a page is blank or shows an error.
//! Screenshots are kept under `target/screenshots/`.

mod common;

use common::start_with;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).is_file() {
            return PathBuf::from(c);
        }
    }
    panic!("Chromium is not installed: `apt-get install chromium` (.ci/run and `make test` install it)");
}

fn browse(url: &str, profile: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs")
}

fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/browser-… → target/screenshots
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn pages_render_in_a_browser() {
    let site = start_with("browser", &["r1", "r2"], &[]);
    let profile = site.dir.join("chromium-profile");
    let shots = screenshots_dir();
    for (name, path, expect) in [
        ("home", "/", "Trafford spending over £500"),
        (
            "dataset",
            "/dataset/trafford-spending",
            "Spending by supplier",
        ),
        (
            "changes",
            "/dataset/trafford-spending/release/r2/changes",
            "No statements changed since release r1",
        ),
        // YASGUI, served locally, started on the page (the plain form is the fallback).
        ("query", "/query", "data-yasgui=\"ready\""),
    ] {
        let url = format!("{}{path}", site.url);
        let dom = browse(&url, &profile, &["--dump-dom"]);
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        assert!(
            dom.contains(expect),
            "{name}: {expect:?} not rendered:\n{dom}"
        );
        for bad in [
            "not found",
            "internal server error",
            "This site can’t be reached",
        ] {
            assert!(
                !dom.to_lowercase().contains(&bad.to_lowercase()),
                "{name} shows {bad:?}"
            );
        }
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let out = browse(
            &url,
            &profile,
            &[&format!("--screenshot={}", png.display())],
        );
        assert!(
            png.is_file(),
            "{name}: no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A blank 1280×900 page compresses to a few kilobytes; a rendered one does not.
        let size = std::fs::metadata(&png).unwrap().len();
        assert!(
            size > 15_000,
            "{name}: the screenshot looks blank ({size} bytes)"
        );
    }
}

/// 365887.57 → "£365,887.57".
fn pounds(v: f64) -> String {
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("£{grouped}.{frac}")
}

/// The pages people look things up on, from the bundled examples (every council's spending,
/// contracts, grants, toilets and licences) published by the real `fivestar run`, in headless
/// Chromium: a payment, a supplier, a council, a dataset with its charts and first rows, and a
/// search with a typo. Screenshots are kept.
#[test]
fn the_pages_people_look_things_up_on_render_in_a_browser() {
    let s = common::Scratch::new("browser", "lookups");
    let examples = common::root().join("pipelines/examples");
    let o = s.run(&["run", examples.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // One payment of Leeds to Civic Office Supplies, found by SPARQL.
    let payment = s
        .query(
            "SELECT ?l WHERE { ?l <http://reference.data.gov.uk/def/payment#payee> \
             <http://127.0.0.1:7878/id/council/E08000035/supplier/civic-office-supplies> } ORDER BY ?l LIMIT 1",
        )
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let site = s.serve();
    // What the example generator itself added up for this supplier, across the four councils.
    let expected: std::collections::BTreeMap<String, f64> = serde_json::from_slice(
        &std::fs::read(examples.join("expected-supplier-totals.json")).unwrap(),
    )
    .unwrap();
    let civic = pounds(expected["civic-office-supplies"]);
    // …and per council (GSS code → total), written by the same run of the generator.
    let by_council: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
        serde_json::from_slice(
            &std::fs::read(examples.join("expected-supplier-totals-by-council.json")).unwrap(),
        )
        .unwrap();
    assert_eq!(
        by_council["civic-office-supplies"].len(),
        4,
        "four councils pay it"
    );
    let profile = s.0.join("chromium-profile");
    let shots = screenshots_dir();
    let doc = payment.replace("http://127.0.0.1:7878/id/", "/doc/");
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    // The supplier's page: each council's row is its link, then its total in the next cell.
    let mut supplier = strings(&["Paid by each council", "Largest payments", "Every payment"]);
    supplier.push(format!("{civic} in all"));
    for (gss, total) in &by_council["civic-office-supplies"] {
        supplier.push(format!(
            "<a class=\"iri\" href=\"/doc/council/{gss}\" title=\"http://statistics.data.gov.uk/id/statistical-geography/{gss}\">"
        ));
        supplier.push(format!("<td class=\"num\">{}</td>", pounds(*total)));
    }
    for (name, path, expect) in [
        (
            "payment",
            doc.as_str(),
            strings(&[" to civic office supplies ", "£"]),
        ),
        (
            "supplier",
            "/doc/council/E08000035/supplier/civic-office-supplies",
            supplier,
        ),
        (
            "council",
            "/doc/council/E08000035",
            strings(&[
                "<h1>Leeds City Council</h1>",
                "Largest suppliers",
                "Largest service areas",
            ]),
        ),
        (
            "dataset-glance",
            "/dataset/leeds-spending",
            strings(&[
                "<title id=\"spend-per-month-title\">Spend per month</title>",
                "<title id=\"largest-suppliers-title\">The 10 largest suppliers</title>",
                "<h2>A first look</h2>",
            ]),
        ),
        (
            "search-typo",
            "/search?q=medowbank+wast",
            strings(&[
                "found for <q>medowbank wast</q>",
                "Meadowbank Waste Solutions",
                // One row for the firm, though four councils' URIs name it.
                "supplier (paid by 4 councils or datasets)",
            ]),
        ),
    ] {
        let url = format!("{}{path}", site.url);
        let dom = browse(&url, &profile, &["--dump-dom"]);
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        // Case aside: a payment's title spells the supplier as its row does.
        let lower = dom.to_lowercase();
        for e in &expect {
            assert!(
                lower.contains(&e.to_lowercase()),
                "{name}: {e:?} not rendered:\n{dom}"
            );
        }
        // A page is titled by a name, never by an IRI.
        let h1 = dom
            .split("<h1>")
            .nth(1)
            .and_then(|h| h.split("</h1>").next());
        assert!(h1.is_some_and(|h| !h.starts_with("http")), "{name}: {h1:?}");
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        browse(
            &url,
            &profile,
            &[&format!("--screenshot={}", png.display())],
        );
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 15_000,
            "{name}: the screenshot looks blank ({size} bytes)"
        );
    }
}
