//! `csvw-conformance`: prints the W3C CSVW conformance counts.
//!
//! Usage: `csvw-conformance [--verbose] [rdf|json|validation]...`

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let mut which: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    if which.is_empty() {
        which = vec!["rdf", "json", "validation"];
    }
    let dir = csvw_testsuite::suite_dir();
    if let Some(pos) = args.iter().position(|a| a == "--show") {
        let id = args.get(pos + 1).map(String::as_str).unwrap_or("");
        let which = args.get(pos + 2).map(String::as_str).unwrap_or("rdf");
        for e in csvw_testsuite::load_manifest(&dir, which)? {
            if e.id.ends_with(&format!("#{id}")) {
                println!("{}", csvw_testsuite::show_entry(&dir, which, &e));
            }
        }
        return Ok(());
    }
    let known = csvw_testsuite::known_failures();
    let mut unexpected = 0;
    for w in which {
        let outcomes = csvw_testsuite::run_manifest(&dir, w)?;
        let passed = outcomes.iter().filter(|o| o.passed).count();
        for o in &outcomes {
            if verbose && !o.passed {
                eprintln!("FAIL {}: {}", o.id, o.detail);
            }
            if o.passed == known.contains_key(&o.id) {
                unexpected += 1;
            }
        }
        println!("csvw {w}: {passed}/{} passed", outcomes.len());
    }
    if unexpected > 0 {
        eprintln!("{unexpected} results differ from known-failures.txt (run with --verbose)");
        std::process::exit(1);
    }
    Ok(())
}
