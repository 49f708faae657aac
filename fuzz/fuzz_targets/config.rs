//! Arbitrary bytes read as a pipeline file and as `fivestar.toml`, as `fivestar run`, an
//! upload to the admin API or `fivestar serve` would read them: parsed, then every value
//! checked (ranges, finiteness, IRIs, ids, cron expressions, template names). Nothing may
//! panic; every refusal is a `ConfigError` naming the file and key.
#![no_main]

use fivestar_config::{Instance, Pipeline};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    // Local files it names resolve to a folder that has none: the checks that read a file
    // (a metadata document) must fail cleanly too.
    let nowhere = |r: &str| Some(PathBuf::from("/nonexistent-fivestar-fuzz").join(r));
    if let Ok(p) = Pipeline::parse(path, text, data, &nowhere) {
        let _ = p.local_files();
    }
    let _ = Pipeline::parse(path, text, data, &|_: &str| None);
    let _ = Instance::parse(path, text);
});
