//! A player's request for a live HLS file: any file name and query through
//! the parsing the server does before it looks anything up. Never a panic;
//! a name that parses is made again, from what it said, into one that
//! parses the same; a blocking reload that parses reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_record::hls_names::{blocking_reload, HlsFile};

fuzz_target!(|data: &[u8]| {
    // The name, then after the first NUL the query.
    let (name, query) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let name = String::from_utf8_lossy(name);
    if let Some((id, file)) = HlsFile::parse(&name) {
        let again = file.name(id);
        assert_eq!(HlsFile::parse(&again), Some((id, file)), "{name:?} → {again:?}");
    }
    let query = query.map(String::from_utf8_lossy);
    if let Ok(Some((msn, part))) = blocking_reload(query.as_deref()) {
        let again = match part {
            Some(p) => format!("_HLS_msn={msn}&_HLS_part={p}"),
            None => format!("_HLS_msn={msn}"),
        };
        assert_eq!(blocking_reload(Some(&again)), Ok(Some((msn, part))));
    }
});
