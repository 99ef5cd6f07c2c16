//! The header rewrite on arbitrary bytes (checks: server::oracles::rewrite).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| server::oracles::rewrite(raw));
