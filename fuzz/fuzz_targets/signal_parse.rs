//! Any text frame: the parser answers with a message or an error, never a panic,
//! and every error it returns renders as a frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match tern_signal::parse(text) {
            Ok(msg) => {
                let _ = format!("{msg:?}");
            }
            Err(e) => {
                let _ = format!("{e:?}");
            }
        }
    }
});
