//! Arbitrary bytes read as an xlsx, ods and xls workbook, in this process (as the child of
//! `fivestar` reads them): the limits checked before calamine allocates, then calamine.
//! Nothing may panic, and nothing may allocate past libFuzzer's malloc limit.
#![no_main]

use fivestar_tidy::workbook::Limits;
use fivestar_tidy::{read, Format, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Xlsx, Format::Ods, Format::Xls] {
        let options = ReadOptions {
            format: Some(format),
            limits: Limits {
                max_cells: 1_000_000,
                max_uncompressed_bytes: 64 << 20,
                ..Limits::default()
            },
            ..ReadOptions::default()
        };
        let _ = read(data, &options, &mut Vec::new());
    }
});
