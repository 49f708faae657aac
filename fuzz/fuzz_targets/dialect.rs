//! Fuzzes the dialect reader: the first byte chooses dialect options, the rest is the file.
#![no_main]

use csvw::dialect::{Dialect, RowReader, Trim};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let dialect = Dialect {
        delimiter: [",", ";", "\t", "||"][(flags & 3) as usize].into(),
        double_quote: flags & 4 == 0,
        quote_char: if flags & 8 == 0 { Some("\"".into()) } else { None },
        comment_prefix: if flags & 16 == 0 { None } else { Some("#".into()) },
        line_terminators: if flags & 32 == 0 {
            vec!["\r\n".into(), "\n".into()]
        } else {
            vec!["\r".into(), "--".into()]
        },
        trim: [Trim::Both, Trim::None][(flags >> 6 & 1) as usize],
        encoding: if flags & 128 == 0 { "utf-8".into() } else { "utf-16le".into() },
        ..Dialect::default()
    };
    let mut reader = RowReader::new(body, &dialect);
    let mut rows = 0usize;
    while let Ok(Some(_)) = reader.next_line() {
        rows += 1;
        // Every row consumes input: the reader cannot loop forever.
        assert!(rows <= body.len() + 1);
    }
});
