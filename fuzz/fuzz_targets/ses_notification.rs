//! The SES receipt notification parser on arbitrary text
//! (checks: server::testing::oracles::ses_notification).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|message: &str| server::testing::oracles::ses_notification(message));
