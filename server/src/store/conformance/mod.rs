//! One behaviour suite for every backend. Each scenario is a function here, in a file per
//! capability; `conformance_tests!`, invoked once per backend, makes each of them a test of
//! its own on a fresh store (`store::sqlite::conformance::vend_numbers_names_in_order`,
//! `store::dynamodb::conformance::…`). The data each scenario writes is unique all the same.

pub mod accounts;
pub mod mappings;
pub mod messages;
pub mod notifications;
pub mod raw;
pub mod reachability;
pub mod retention;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod vend;

use std::collections::BTreeMap;

use super::{NameSpec, VendSpec};

/// A unique prefix per scenario, so the data of one never meets another's.
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{tag}{}x{}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn spec(base: &str) -> VendSpec {
    VendSpec {
        name: NameSpec::Generated {
            base: base.to_string(),
            width: 3,
        },
        address: None,
        domain: "example.com".into(),
        account_type: "IT".into(),
        owner: "owner@example.org".into(),
        recipients: Vec::new(),
        tags: BTreeMap::from([("BusinessUnit".to_string(), "Blue-Origin".to_string())]),
        idempotency_key: None,
        actor: "admin:conformance".into(),
        now: "2026-11-25T00:00:00.000Z".into(),
        reserved: Vec::new(),
    }
}

/// One `#[tokio::test]` per scenario, in a module `conformance` where it is invoked (a
/// backend's module). `$open` is evaluated afresh in each test, inside that module, and gives
/// `(keep, Arc<Backend>)`: `keep` lives until the test ends (a temporary directory, or `()`).
/// Each test opens its own store on its own runtime: pools and SDK clients hold tasks on the
/// runtime that made them, so a store is never shared between tests.
macro_rules! conformance_tests {
    ($open:expr) => {
        $crate::store::conformance::conformance_tests! {
            @tests $open;
            // Scenarios that borrow the store.
            borrowed: [
                vend::vend_numbers_names_in_order,
                vend::counters_grow_past_their_width,
                vend::deleted_addresses_are_never_vended_again,
                vend::generated_names_skip_names_taken_by_overrides,
                vend::explicit_names_and_addresses_conflict_cleanly,
                vend::idempotency_keys_return_the_first_result,
                vend::imports_keep_their_numbers_and_run_again_harmlessly,
                mappings::edits_change_only_what_they_name,
                mappings::every_change_is_audited,
                mappings::listing_pages_and_filters,
                mappings::listing_filters_by_who_vended,
                mappings::listing_filters_by_a_set_of_owners,
                mappings::recipients_are_kept_and_found_like_owners,
                mappings::appended_audit_entries_are_listed_with_their_subject,
                mappings::counts_types_and_the_whole_audit_log,
                tokens::tokens_are_found_by_digest_and_revoked_once,
                messages::claims_are_exactly_once,
                messages::renewed_leases_hold_off_takeovers,
                messages::the_log_lists_newest_first_with_filters,
                messages::the_log_filters_by_time_and_counts_per_day,
                messages::counts_move_once_with_each_write,
                messages::delivery_events_move_records_forward_only,
                raw::raw_messages_round_trip,
                raw::raw_messages_kept_as_s3_locations,
                reachability::unreachable_marks_are_kept_cleared_in_order_and_audited,
                settings::settings_are_kept_and_audited,
                settings::settings_are_read_together,
                sessions::sessions_expire_and_ids_are_never_shared,
                retention::retention_purges_settled_records_and_their_raw,
                accounts::syncs_replace_the_accounts_whole,
                accounts::mappings_keep_their_account_link,
                accounts::jobs_are_one_open_per_account_and_address,
                notifications::channels_are_kept_capped_and_audited,
                notifications::deliveries_queue_lease_and_settle,
            ];
            // Scenarios that share it between spawned tasks.
            shared: [
                vend::concurrent_vends_get_distinct_names,
                vend::concurrent_vends_with_one_key_make_one_mapping,
                messages::concurrent_claims_have_one_winner,
                messages::dead_letters_reopen_once,
                retention::purges_on_two_servers_delete_each_record_once,
                accounts::concurrent_transitions_have_one_winner,
            ];
        }
    };
    (
        @tests $open:expr;
        borrowed: [$($bm:ident::$bn:ident),* $(,)?];
        shared: [$($sm:ident::$sn:ident),* $(,)?];
    ) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $bn() {
                    let (_keep, store) = $open;
                    $crate::store::conformance::$bm::$bn(&*store).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $sn() {
                    let (_keep, store) = $open;
                    $crate::store::conformance::$sm::$sn(store).await;
                }
            )*
        }
    };
}
pub(crate) use conformance_tests;
