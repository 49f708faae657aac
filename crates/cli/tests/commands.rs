//! The binary's command set. (This test also makes `cargo test --workspace` build the
//! `fivestar` binary with the workspace's test features, so the end-to-end tests in `tests/`
//! run that very binary and RocksDB is compiled once, not once per feature set.)

use std::process::Command;

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_fivestar"))
        .arg("--help")
        .output()
        .expect("the fivestar binary runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "run", "validate", "status", "schedule", "csvw", "publish", "query", "serve", "releases",
        "withdraw", "rollback", "remove",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "{command} missing from:\n{help}"
        );
    }
}

#[test]
fn a_broken_fivestar_toml_names_the_file_and_key() {
    let dir = std::env::temp_dir().join(format!("fivestar-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("fivestar.toml");
    std::fs::write(&config, "base_iri = \"not an iri\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fivestar"))
        .args(["--config", config.to_str().unwrap(), "releases"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fivestar.toml") && err.contains("base_iri"),
        "{err}"
    );
    std::fs::write(&config, "stor = \"x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fivestar"))
        .args(["--config", config.to_str().unwrap(), "releases"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stor"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
