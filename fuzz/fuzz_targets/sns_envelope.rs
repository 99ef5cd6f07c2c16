//! The SNS envelope and signature path on arbitrary bytes, verified against a real AWS
//! certificate (checks: server::testing::oracles::sns_envelope).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use server::testing::oracles;

/// A real SNS signing certificate and messages AWS signed with it (server/tests/fixtures/sns-aws-signed,
/// from aws-sdk-java-v2's test resources).
const CERT: &[u8] = include_bytes!(
    "../../server/tests/fixtures/sns-aws-signed/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"
);
const SIGNED: &[&[u8]] = &[
    include_bytes!("../../server/tests/fixtures/sns-aws-signed/notification-no-subject-v1.json"),
    include_bytes!("../../server/tests/fixtures/sns-aws-signed/notification-v2.json"),
    include_bytes!("../../server/tests/fixtures/sns-aws-signed/notification-with-subject-v1.json"),
    include_bytes!("../../server/tests/fixtures/sns-aws-signed/subscription-confirmation-v1.json"),
    include_bytes!("../../server/tests/fixtures/sns-aws-signed/unsubscribe-confirmation-v2.json"),
];

fuzz_target!(|body: &[u8]| {
    static SIGNED_STRINGS: OnceLock<Vec<String>> = OnceLock::new();
    let signed = SIGNED_STRINGS.get_or_init(|| oracles::canonical_strings(SIGNED));
    oracles::sns_envelope(body, CERT, signed);
});
