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
