//! The header rewrite on arbitrary bytes (checks: server::testing::oracles::rewrite).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| server::testing::oracles::rewrite(raw));
