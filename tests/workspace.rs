//! The officers' workspace at `/admin/`, end to end: the real binary serving a real store, and
//! headless Chromium driven over the DevTools protocol. An officer signs in, uploads an example
//! spreadsheet, changes a column's mapping, reads the check's report, publishes, sees the
//! dataset on the public home page, rolls back and withdraws. Every page is checked with
//! axe-core (no "serious" or "critical" WCAG 2.1 A/AA violations) and at 360 px wide (nothing
//! wider than the screen). Screenshots of each step go to `target/screenshots/workspace-*`.
//!
//! Also: a wrong password and a form without its CSRF token are refused; a file with email
//! addresses cannot be published until the officer chooses redact or leave out, and the
//! published data then holds none of them.

mod common;

use common::{bin, root};
use headless_chrome::protocol::cdp::{Emulation, Page};
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "workspace-admin-token-0123456789";
const PASSWORD: &str = "a long enough password";

/// A folder with a store, an empty pipelines folder and one account, served.
struct Instance {
    dir: PathBuf,
    site: common::Running,
}

impl Instance {
    fn start(name: &str) -> Instance {
        Instance::start_with(name, "")
    }

    /// As [`Instance::start`], with `settings` added to its fivestar.toml.
    fn start_with(name: &str, settings: &str) -> Instance {
        let dir = std::env::temp_dir().join(format!("fivestar-ws-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pipelines")).unwrap();
        std::fs::write(
            dir.join("fivestar.toml"),
            format!(
                "base_iri = \"http://127.0.0.1:7878\"\nstore = {:?}\npipelines = {:?}\n{settings}",
                dir.join("store").display().to_string(),
                dir.join("pipelines").display().to_string()
            ),
        )
        .unwrap();
        let mut add = Command::new(bin())
            .current_dir(&dir)
            .args(["user", "add", "officer"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        let out = add.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let site = common::serve(
            Command::new(bin())
                .current_dir(&dir)
                .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
                .args(["serve", "--bind", "127.0.0.1:0"]),
        );
        Instance { dir, site }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.site.url)
    }

    fn pipeline_text(&self, id: &str) -> String {
        std::fs::read_to_string(self.dir.join("pipelines").join(format!("{id}.toml"))).unwrap()
    }

    /// Whether the public view holds resources of dataset `id`.
    fn has_data(&self, id: &str) -> bool {
        let r: serde_json::Value = common::client()
            .get(self.url("/sparql"))
            .query(&[("query", format!("ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?s), \"http://127.0.0.1:7878/id/{id}/\")) }}"))])
            .header("Accept", "application/sparql-results+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["boolean"].as_bool().expect("an ASK answer")
    }

    /// Waits until the pipeline file of `id` holds `text`.
    fn wait_for_pipeline(&self, id: &str, text: &str) {
        let started = Instant::now();
        while !self.pipeline_text(id).contains(text) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the pipeline never held {text:?}:\n{}",
                self.pipeline_text(id)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The live release of `dataset` (None: withdrawn or never published).
    fn live(&self, dataset: &str) -> Option<String> {
        let d: serde_json::Value = common::client()
            .get(self.url("/admin/api/datasets"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        d.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == dataset)
            .and_then(|x| x["live"].as_str().map(str::to_string))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.site.child.kill();
        let _ = self.site.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).is_file() {
            return PathBuf::from(c);
        }
    }
    panic!("Chromium is not installed: `make test-deps` installs it");
}

fn target_dir() -> PathBuf {
    // target/<profile>/deps/workspace-… → target
    std::env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf()
}

fn axe_js() -> String {
    let path = std::env::var_os("AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("test-deps/axe.min.js"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {}: {e} (`make test-deps` fetches it)",
            path.display()
        )
    })
}

fn browser(profile: &Path) -> Browser {
    let args: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    Browser::new(
        LaunchOptions::default_builder()
            .path(Some(chromium()))
            .headless(true)
            .sandbox(false)
            .window_size(Some((1280, 900)))
            .user_data_dir(Some(profile.to_path_buf()))
            .idle_browser_timeout(Duration::from_secs(120))
            .args(args)
            .build()
            .unwrap(),
    )
    .expect("Chromium starts")
}

/// Drives one tab: waits, checks, screenshots.
struct Officer {
    tab: std::sync::Arc<Tab>,
    axe: String,
    shots: PathBuf,
    prefix: &'static str,
    step: std::cell::Cell<u32>,
}

impl Officer {
    fn new(browser: &Browser, prefix: &'static str) -> Officer {
        let tab = browser.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(60));
        let shots = target_dir().join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Officer {
            tab,
            axe: axe_js(),
            shots,
            prefix,
            step: std::cell::Cell::new(0),
        }
    }

    fn go(&self, url: &str) {
        self.tab.navigate_to(url).unwrap();
        self.tab.wait_until_navigated().unwrap();
    }

    fn html(&self) -> String {
        self.tab.get_content().unwrap()
    }

    fn eval(&self, js: &str) -> serde_json::Value {
        self.tab
            .evaluate(js, false)
            .unwrap()
            .value
            .unwrap_or(serde_json::Value::Null)
    }

    /// Clicks `selector` and waits until the page shows `expect` (a piece of its HTML).
    fn click_until(&self, selector: &str, expect: &str) {
        self.press(selector);
        self.wait_for_text(expect);
    }

    /// Activates the button or link `selector` as a click does (the form submits, the
    /// link is followed). Done in the page rather than by mouse coordinates: a mouse
    /// click computed while the page re-lays out (after the 360 px check) can land
    /// beside the button, and then nothing happens (seen once in CI).
    fn press(&self, selector: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.scrollIntoView(); e.click(); return true; }})()",
            sel = serde_json::Value::String(selector.to_string())
        ));
        assert_eq!(
            found,
            serde_json::json!(true),
            "no {selector} on the page:\n{}",
            main_of(&self.html())
        );
    }

    fn wait_for_text(&self, expect: &str) {
        let started = Instant::now();
        loop {
            let _ = self.tab.wait_until_navigated();
            if let Ok(h) = self.tab.get_content() {
                if h.contains(expect) {
                    return;
                }
                if started.elapsed() > Duration::from_secs(90) {
                    panic!("the page never showed {expect:?}:\n{}", main_of(&h));
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn fill(&self, selector: &str, text: &str) {
        self.tab.find_element(selector).unwrap().focus().unwrap();
        self.tab.type_str(text).unwrap();
    }

    fn viewport(&self, width: u32, height: u32) {
        self.tab
            .call_method(Emulation::SetDeviceMetricsOverride {
                width,
                height,
                device_scale_factor: 1.0,
                mobile: width < 600,
                scale: None,
                screen_width: None,
                screen_height: None,
                position_x: None,
                position_y: None,
                dont_set_visible_size: None,
                screen_orientation: None,
                viewport: None,
                display_feature: None,
                device_posture: None,
            })
            .unwrap();
    }

    fn screenshot(&self, name: &str) {
        let png = self
            .tab
            .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
            .unwrap();
        std::fs::write(
            self.shots
                .join(format!("{}-{:02}-{name}.png", self.prefix, self.step.get())),
            png,
        )
        .unwrap();
    }

    /// The whole page, not only what the window shows (at most 8,000 px of it), beside the
    /// step's screenshot: what a reviewer reads below the first screen.
    fn full_page_screenshot(&self, name: &str) {
        use base64::Engine as _;
        let size = self.eval(
            "JSON.stringify([document.documentElement.scrollWidth, document.documentElement.scrollHeight])",
        );
        let size: Vec<f64> = serde_json::from_str(size.as_str().unwrap()).unwrap();
        let data = self
            .tab
            .call_method(Page::CaptureScreenshot {
                format: Some(Page::CaptureScreenshotFormatOption::Png),
                quality: None,
                clip: Some(Page::Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: size[0],
                    height: size[1].min(8000.0),
                    scale: 1.0,
                }),
                from_surface: Some(true),
                capture_beyond_viewport: Some(true),
                optimize_for_speed: None,
            })
            .unwrap()
            .data;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        std::fs::write(
            self.shots.join(format!(
                "{}-{:02}-{name}-full.png",
                self.prefix,
                self.step.get()
            )),
            png,
        )
        .unwrap();
    }

    /// The step's screenshots (the window, and the whole page), the accessibility check, and
    /// the page at 360 px wide.
    fn check_page(&self, name: &str) {
        self.step.set(self.step.get() + 1);
        self.screenshot(name);
        self.full_page_screenshot(name);
        // axe-core in the page: WCAG 2.0/2.1 A and AA rules; serious or critical fails.
        self.eval(&self.axe);
        let result = self
            .tab
            .evaluate(
                "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}}).then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0,3).map(n => n.html)}))))",
                true,
            )
            .unwrap()
            .value
            .unwrap();
        let violations: serde_json::Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
        assert_eq!(
            violations.as_array().map(Vec::len),
            Some(0),
            "{name}: accessibility violations: {violations:#}"
        );
        // At 360 px nothing may be wider than the screen (wide tables scroll inside their box).
        self.viewport(360, 740);
        std::thread::sleep(Duration::from_millis(200));
        let widths =
            self.eval("JSON.stringify([document.documentElement.scrollWidth, window.innerWidth])");
        let widths: Vec<u64> = serde_json::from_str(widths.as_str().unwrap()).unwrap();
        self.screenshot(&format!("{name}-360px"));
        assert!(
            widths[0] <= widths[1],
            "{name}: at 360 px the page is {} px wide",
            widths[0]
        );
        self.tab
            .call_method(Emulation::ClearDeviceMetricsOverride(None))
            .unwrap();
        // Wait until the page is laid out at its own width again.
        let started = Instant::now();
        while self.eval("window.innerWidth") == serde_json::json!(360)
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn sign_in(&self, inst: &Instance, password: &str) {
        self.go(&inst.url("/admin/"));
        self.wait_for_text("Sign in to the workspace");
        self.fill("#name", "officer");
        self.fill("#password", password);
        self.press("main form button[type=submit]");
        let _ = self.tab.wait_until_navigated();
    }
}

#[test]
fn an_officer_publishes_rolls_back_and_withdraws_in_the_browser() {
    let inst = Instance::start("flow");
    let profile = inst.dir.join("chromium");
    let browser = browser(&profile);
    let o = Officer::new(&browser, "workspace");

    // Sign in.
    o.go(&inst.url("/admin/"));
    o.wait_for_text("Sign in to the workspace");
    o.check_page("sign-in");
    o.sign_in(&inst, PASSWORD);
    o.wait_for_text("Runs and health");
    o.check_page("runs-empty");

    // Upload an example spreadsheet.
    o.go(&inst.url("/admin/new"));
    o.check_page("new");
    let xlsx = root()
        .join("pipelines/examples/data/leeds-spending-2024-q1.xlsx")
        .canonicalize()
        .unwrap();
    o.tab
        .find_element("#file")
        .unwrap()
        .set_input_files(&[xlsx.to_str().unwrap()])
        .unwrap();
    o.fill("#title", "Leeds spending over £500");
    o.click_until("main form button[type=submit]", "What kind of data it is");
    let html = o.html();
    assert!(
        html.contains("Read as <strong>spend</strong>"),
        "{}",
        main_of(&html)
    );
    assert!(
        html.contains("class=\"arrow\">→</span>"),
        "raw → published values:\n{}",
        main_of(&html)
    );
    o.check_page("mapping");
    let id = "leeds-spending-over-500";
    assert!(inst.pipeline_text(id).contains("template = \"spend\""));

    // Change one column's mapping: leave the first mapped column with a choice out.
    let chosen: String = o
        .eval("(() => { const s = [...document.querySelectorAll('select[id^=map]')].find(s => s.value && s.value !== ''); s.value = ''; return s.id + '|' + document.querySelector('input[name=\"was.' + s.id.slice(3) + '\"]').value; })()")
        .as_str()
        .unwrap()
        .to_string();
    let (select, column) = chosen.split_once('|').unwrap();
    o.press("form[action$='/columns'] button[type=submit]");
    inst.wait_for_pipeline(id, "personal = \"drop\"");
    o.wait_for_text("Columns");
    let text = inst.pipeline_text(id);
    assert!(
        text.contains(&format!("[columns.{column}]")) && text.contains("personal = \"drop\""),
        "{text}"
    );
    assert_eq!(
        o.eval(&format!("document.getElementById('{select}').value")),
        serde_json::json!(""),
        "the column now shows as not published"
    );

    // Check, read the report, publish.
    o.click_until("form[action$='/check'] button", "Read the report");
    o.check_page("check-done");
    o.click_until(
        "a.button[href*='/runs/']",
        "Passing the checks is not approval",
    );
    let report = o.html();
    assert!(
        report.contains("The data at a glance"),
        "{}",
        main_of(&report)
    );
    assert!(
        report.contains("What will be published"),
        "{}",
        main_of(&report)
    );
    assert!(
        report.contains("Left out as the pipeline asks"),
        "{}",
        main_of(&report)
    );
    // A problem's message wraps in its table: none is cut off at the edge of its box, to be
    // read only by scrolling sideways.
    let overflowing = o.eval(
        "JSON.stringify([...document.querySelectorAll('table.cases')].filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.innerText.slice(0, 120)))",
    );
    assert_eq!(
        overflowing.as_str(),
        Some("[]"),
        "case tables wider than their box: {overflowing}"
    );
    o.check_page("report");
    o.click_until("form[action$='/publish'] button", "Published: release");
    o.check_page("published");
    let first = inst.live(id).expect("live after publishing");
    assert!(inst.has_data(id), "its data is in the public view");
    o.go(&inst.url("/"));
    o.wait_for_text("Leeds spending over £500");
    o.screenshot("public-home");

    // A second release (the column back), so that there is one to roll back to.
    o.go(&inst.url(&format!("/admin/datasets/{id}")));
    o.eval(&format!(
        "document.getElementById('{select}').value = '{column}'"
    ));
    o.press("form[action$='/columns'] button[type=submit]");
    inst.wait_for_pipeline(id, &format!("[columns.{column}]\nsource = "));
    o.wait_for_text("Columns");
    assert!(
        !inst.pipeline_text(id).contains("drop"),
        "{}",
        inst.pipeline_text(id)
    );
    o.click_until("form[action$='/check'] button", "Read the report");
    o.click_until(
        "a.button[href*='/runs/']",
        "Passing the checks is not approval",
    );
    o.click_until("form[action$='/publish'] button", "Published: release");
    let second = inst.live(id).unwrap();
    assert_ne!(first, second);

    // Roll back to the first.
    o.go(&inst.url(&format!("/admin/datasets/{id}")));
    o.check_page("dataset-two-releases");
    o.click_until(
        &format!("a[href$='rollback?release={first}']"),
        "Make release",
    );
    assert!(o.html().contains("The public now sees release"));
    o.check_page("confirm-rollback");
    o.click_until("main form button[type=submit]", "Releases");
    assert_eq!(inst.live(id).as_deref(), Some(first.as_str()));

    // Withdraw.
    o.click_until("a[href$='/withdraw']", "Withdraw ");
    o.check_page("confirm-withdraw");
    o.click_until(
        "main form button.danger",
        "Withdrawn: the public cannot see",
    );
    assert_eq!(inst.live(id), None);
    o.go(&inst.url("/"));
    let home = o.html();
    assert!(
        home.contains("withdrawn"),
        "the home page says so:\n{}",
        main_of(&home)
    );
    assert!(
        !inst.has_data(id),
        "no data of the dataset in the public view"
    );

    // The runs page lists the runs, and the audit log every action.
    o.go(&inst.url("/admin/"));
    let runs = o.html();
    for action in [
        "sign-in",
        "new dataset",
        "change pipeline",
        "check",
        "publish",
        "rollback",
        "withdraw",
    ] {
        assert!(
            runs.contains(&format!("<td>{action}")),
            "audit log lacks {action}:\n{}",
            main_of(&runs)
        );
    }
    o.check_page("runs");
}

#[test]
fn wrong_passwords_and_forms_without_their_token_are_refused() {
    let inst = Instance::start("refuse");
    common::copy_trafford_pipeline(&inst.dir.join("pipelines"));
    let profile = inst.dir.join("chromium");
    let browser = browser(&profile);
    let o = Officer::new(&browser, "workspace-refused");

    o.sign_in(&inst, "not the password at all");
    o.wait_for_text("The account name or password is not right.");
    o.check_page("wrong-password");
    assert!(!o.html().contains("Sign out"));

    o.sign_in(&inst, PASSWORD);
    o.wait_for_text("Runs and health");
    o.go(&inst.url("/admin/datasets/trafford-spending"));
    o.wait_for_text("Check the data");
    // The form without its CSRF token.
    o.eval("document.querySelector(\"form[action$='/check'] input[name=csrf]\").remove()");
    o.click_until("form[action$='/check'] button", "Refused");
    o.check_page("csrf-refused");
    assert!(
        common::client()
            .get(inst.url("/admin/api/runs"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap()
            == "[]",
        "no job was started"
    );
    // Signed out, the pages ask to sign in again.
    o.go(&inst.url("/admin/"));
    o.click_until("form.signout button", "Sign in to the workspace");
    o.go(&inst.url("/admin/datasets/trafford-spending"));
    o.wait_for_text("Sign in to the workspace");
}

/// A signed-in HTTP session: its cookie. The sign-in form's token comes with the page, in
/// its form and in a cookie; a post without it, or with another, is refused.
fn http_sign_in(inst: &Instance) -> String {
    let page = common::client()
        .get(inst.url("/admin/login"))
        .send()
        .unwrap();
    let login_cookie = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        login_cookie.starts_with("fivestar_login=")
            && login_cookie.contains("HttpOnly")
            && login_cookie.contains("SameSite=Strict"),
        "{login_cookie}"
    );
    let login_cookie = login_cookie.split(';').next().unwrap().to_string();
    let token = csrf_of(&page.text().unwrap());
    let fields = |csrf: &str| {
        vec![
            ("name", "officer".to_string()),
            ("password", PASSWORD.to_string()),
            ("next", "/admin/".to_string()),
            ("csrf", csrf.to_string()),
        ]
    };
    // Without the cookie (as from another site), or with another token: refused, even with
    // the right password.
    let post = |cookie: &str, csrf: &str| {
        common::client()
            .post(inst.url("/admin/login"))
            .header("cookie", cookie)
            .form(&fields(csrf))
            .send()
            .unwrap()
    };
    assert_eq!(post("", &token).status(), 403);
    assert_eq!(post(&login_cookie, &"0".repeat(64)).status(), 403);
    let r = post(&login_cookie, &token);
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

/// The page's main part (what a failing assertion shows).
fn main_of(html: &str) -> &str {
    let start = html.find("<main>").unwrap_or(0);
    let end = html.find("</main>").unwrap_or(html.len());
    &html[start..end]
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_string()
}

fn get(inst: &Instance, cookie: &str, path: &str) -> String {
    let r = common::client()
        .get(inst.url(path))
        .header("Cookie", cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().unwrap()
}

/// Posts a workspace form; returns where it sends the browser.
fn post(inst: &Instance, cookie: &str, path: &str, fields: &[(&str, &str)]) -> String {
    let r = common::client()
        .post(inst.url(path))
        .header("Cookie", cookie)
        .form(fields)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "{path}: {}", r.text().unwrap_or_default());
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Follows a job page until the job ends; returns the finished page.
fn finish(inst: &Instance, cookie: &str, job: &str) -> String {
    let started = Instant::now();
    loop {
        let page = get(inst, cookie, job);
        if !page.contains("updates itself") {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{}",
            main_of(&page)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn email_addresses_block_publication_until_redacted_or_left_out() {
    let inst = Instance::start("email");
    let cookie = http_sign_in(&inst);
    // Trafford's contracts, with each contract's officer's email address.
    let source =
        std::fs::read_to_string(root().join("pipelines/examples/data/trafford-contracts-2024.csv"))
            .unwrap();
    let mut csv = String::new();
    for (i, line) in source.lines().enumerate() {
        if i == 0 {
            csv.push_str(&format!("{line},Contact Email\n"));
        } else if !line.is_empty() {
            csv.push_str(&format!("{line},officer.{i}@trafford.gov.uk\n"));
        }
    }
    let csrf = csrf_of(&get(&inst, &cookie, "/admin/new"));
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("title", "Contracts with contacts")
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(csv.into_bytes())
                .file_name("contracts-with-contacts.csv"),
        );
    let r = common::client()
        .post(inst.url("/admin/new"))
        .header("Cookie", &cookie)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    let id = "contracts-with-contacts";
    assert_eq!(
        r.headers()["location"],
        format!("/admin/datasets/{id}").as_str()
    );
    let page = get(&inst, &cookie, &format!("/admin/datasets/{id}"));
    assert!(page.contains("Contact Email"), "{}", main_of(&page));

    // The check finds the addresses; the report offers the choices and no publish button.
    let job = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/check"),
        &[("csrf", &csrf)],
    );
    let done = finish(&inst, &cookie, &job);
    let report_at = done
        .split("href=\"")
        .find(|s| s.starts_with(&format!("/admin/datasets/{id}/runs/")))
        .map(|s| s.split('"').next().unwrap().to_string())
        .expect("a link to the report");
    let report = get(&inst, &cookie, &report_at);
    assert!(report.contains("Email addresses"), "{}", main_of(&report));
    assert!(
        report.contains("value=\"redact\"") && report.contains("value=\"drop\""),
        "{}",
        main_of(&report)
    );
    assert!(
        !report.contains("action=\"/admin/datasets/contracts-with-contacts/publish\""),
        "no publish form"
    );
    assert!(
        !report.contains("officer.1@trafford.gov.uk"),
        "the report masks the addresses"
    );

    // Publishing anyway is blocked by the gate, and nothing goes live.
    let job = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/publish"),
        &[("csrf", &csrf)],
    );
    let done = finish(&inst, &cookie, &job);
    assert!(
        done.contains("blocked: nothing was published"),
        "{}",
        main_of(&done)
    );
    assert_eq!(inst.live(id), None);

    // Redact, check again, publish: no address in the published data.
    let to = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/personal"),
        &[
            ("csrf", &csrf),
            ("column", "contact_email"),
            ("choice", "redact"),
        ],
    );
    assert!(to.starts_with(&format!("/admin/datasets/{id}")), "{to}");
    assert!(inst.pipeline_text(id).contains("personal = \"redact\""));
    let job = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/check"),
        &[("csrf", &csrf)],
    );
    assert!(finish(&inst, &cookie, &job).contains("The checks passed"));
    let job = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/publish"),
        &[("csrf", &csrf)],
    );
    assert!(finish(&inst, &cookie, &job).contains("Published: release"));
    assert!(inst.live(id).is_some());
    let csv = common::client()
        .get(inst.url(&format!("/dumps/{id}/latest.csv")))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        csv.contains("[redacted]") && !csv.contains("@trafford.gov.uk"),
        "{csv}"
    );
    let answer = common::client()
        .get(inst.url("/sparql"))
        .query(&[("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isLiteral(?o) && CONTAINS(STR(?o), \"@trafford.gov.uk\")) }")])
        .header("Accept", "text/csv")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        answer.replace("\r\n", "\n"),
        "n\n0\n",
        "no address in the store"
    );

    // Leaving the column out instead: the published data has no value of it at all.
    post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/personal"),
        &[
            ("csrf", &csrf),
            ("column", "contact_email"),
            ("choice", "drop"),
        ],
    );
    let job = post(
        &inst,
        &cookie,
        &format!("/admin/datasets/{id}/publish"),
        &[("csrf", &csrf)],
    );
    assert!(finish(&inst, &cookie, &job).contains("Published: release"));
    let csv = common::client()
        .get(inst.url(&format!("/dumps/{id}/latest.csv")))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !csv.contains("[redacted]") && !csv.contains("@trafford"),
        "{csv}"
    );
}

#[test]
fn a_file_no_template_fits_gets_the_closest_and_a_choice_limited_to_its_own_file() {
    let inst = Instance::start("notemplate");
    let cookie = http_sign_in(&inst);
    let csrf = csrf_of(&get(&inst, &cookie, "/admin/new"));
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(
                b"Ward,Trees planted,Species\nNorth,12,Oak\nSouth,7,Birch\n".to_vec(),
            )
            .file_name("trees.csv"),
        );
    let r = common::client()
        .post(inst.url("/admin/new"))
        .header("Cookie", &cookie)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().unwrap();
    assert!(
        page.contains("No template fits trees.csv"),
        "{}",
        main_of(&page)
    );
    assert!(
        !inst.dir.join("pipelines/trees.toml").exists(),
        "nothing written yet"
    );
    // A file that is not a table: refused, and nothing is left behind.
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(
                b"<html><body>Not found</body></html>".to_vec(),
            )
            .file_name("page.csv"),
        );
    let r = common::client()
        .post(inst.url("/admin/new"))
        .header("Cookie", &cookie)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("could not be read"));
    assert!(
        !inst.dir.join("pipelines/data/page").exists(),
        "nothing left behind"
    );
    // The choice may name only the dataset's own file (or a web address), never another path.
    let choose = |source: &str| {
        common::client()
            .post(inst.url("/admin/new/choose"))
            .header("Cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("id", "trees"),
                ("name", "trees.csv"),
                ("source", source),
                ("template", "land-assets"),
                ("title", "Trees"),
            ])
            .send()
            .unwrap()
    };
    assert_eq!(choose("/etc/passwd").status(), 400);
    assert_eq!(choose("../../secret.csv").status(), 400);
    assert!(!inst.dir.join("pipelines/trees.toml").exists());
    let r = choose("data/trees/trees.csv");
    assert_eq!(r.status(), 303, "{}", r.text().unwrap_or_default());
    let text = inst.pipeline_text("trees");
    assert!(
        text.contains("template = \"land-assets\"") && text.contains("title = \"Trees\""),
        "{text}"
    );
}

#[test]
fn a_withdraw_says_which_other_store_did_not_follow() {
    // A [[publish_to]] target nobody answers at (the discard port, refused at once).
    let inst = Instance::start_with(
        "mirrorfail",
        "\n[[publish_to]]\nname = \"regional\"\nquery = \"http://127.0.0.1:9/query\"\n\
         update = \"http://127.0.0.1:9/update\"\ngraph_store = \"http://127.0.0.1:9/store\"\n\
         retries = 0\ntimeout_secs = 5\n",
    );
    let example = root().join(common::EXAMPLE);
    let out = Command::new(bin())
        .current_dir(&inst.dir)
        .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
        .args([
            "publish",
            example.to_str().unwrap(),
            "--dataset",
            "trafford-spending",
        ])
        .args(["--title", "Trafford spending", "--release", "r1"])
        .output()
        .unwrap();
    // Live here; 3 says a target failed.
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(inst.live("trafford-spending").as_deref(), Some("r1"));
    // The officer withdraws in the browser; the page says which store did not follow.
    let profile = inst.dir.join("chromium");
    let browser = browser(&profile);
    let o = Officer::new(&browser, "workspace-not-followed");
    o.sign_in(&inst, PASSWORD);
    o.wait_for_text("Runs and health");
    o.go(&inst.url("/admin/datasets/trafford-spending/withdraw"));
    o.wait_for_text("Withdraw ");
    o.click_until("main form button.danger", "another store did not follow");
    o.check_page("withdraw-not-followed");
    let page = o.html();
    let main = main_of(&page);
    assert!(
        main.contains("regional")
            && main.contains("fivestar sync")
            && main.contains("off the public site here"),
        "{main}"
    );
    assert_eq!(
        inst.live("trafford-spending"),
        None,
        "withdrawn here all the same"
    );
}
