//! The W3C CSVW suite as a test: fails if a test outside known-failures.txt fails, or if a
//! listed test passes (so the list cannot go stale).

use csvw_testsuite::{known_failures, run_manifest, suite_dir};

fn check(which: &str, expected_total: usize) {
    let dir = suite_dir();
    assert!(
        dir.join("manifest.jsonld").is_file(),
        "the W3C CSVW suite is not at {} (set CSVW_TESTS to its folder)",
        dir.display()
    );
    let known = known_failures();
    let outcomes = run_manifest(&dir, which).expect("the manifest loads");
    assert_eq!(
        outcomes.len(),
        expected_total,
        "entries in manifest-{which}"
    );
    let passed = outcomes.iter().filter(|o| o.passed).count();
    println!("csvw {which}: {passed}/{} passed", outcomes.len());
    let mut unexpected = Vec::new();
    for o in &outcomes {
        match (o.passed, known.get(&o.id)) {
            (false, None) => unexpected.push(format!("{} failed: {}", o.id, o.detail)),
            (true, Some(why)) => unexpected.push(format!(
                "{} passes but is listed as a known failure ({why}): remove it from known-failures.txt",
                o.id
            )),
            _ => {}
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[test]
fn rdf_manifest() {
    check("rdf", 270);
}

#[test]
fn json_manifest() {
    check("json", 270);
}

#[test]
fn validation_manifest() {
    check("validation", 282);
}
