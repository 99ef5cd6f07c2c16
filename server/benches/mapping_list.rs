//! Listing and searching a SQLite store of 100,000 mappings: first page, a page deep in the
//! list, one owner's page, substring search (narrow and broad), and a status filter.
//!
//!     cargo bench -p server --bench mapping_list
//!
//! The store is built once (by vending through the real store API) and kept under
//! `target/bench-data/`, so later runs start at once. Results: docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use app::model::MappingStatus;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use server::store::sqlite::SqliteStore;
use server::store::{MappingChange, MappingFilter, MappingStore, NameSpec, VendSpec};

const MAPPINGS: usize = 100_000;
const OWNERS: usize = 100;
const BUSINESS_UNITS: [&str; 10] = [
    "blue-origin",
    "finance",
    "data-platform",
    "retail",
    "research",
    "security",
    "payments",
    "logistics",
    "marketing",
    "support",
];
const APPS: [&str; 10] = [
    "space-cube",
    "ledger",
    "lake-house",
    "storefront",
    "genome",
    "siem",
    "gateway",
    "fleet",
    "campaigns",
    "helpdesk",
];
const ENVS: [&str; 3] = ["dev", "eval", "prod"];

fn data_path() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join(format!("bench-data/mappings-{MAPPINGS}.db"))
}

async fn seeded_store() -> Arc<SqliteStore> {
    let path = data_path();
    let ready = path.with_extension("ready");
    if !ready.exists() {
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).await.unwrap();
        let started = std::time::Instant::now();
        for i in 0..MAPPINGS {
            let base = format!(
                "{}-{}-{}",
                BUSINESS_UNITS[i % 10],
                APPS[(i / 10) % 10],
                ENVS[(i / 100) % 3]
            );
            let spec = VendSpec {
                name: NameSpec::Generated { base, width: 3 },
                address: None,
                domain: "example.com".into(),
                account_type: "IT".into(),
                owner: format!("owner{:03}@example.org", i % OWNERS),
                recipients: Vec::new(),
                tags: BTreeMap::new(),
                idempotency_key: None,
                actor: "bench".into(),
                now: "2026-11-25T00:00:00.000Z".into(),
                reserved: Vec::new(),
            };
            let m = store.vend(&spec).await.unwrap().mapping;
            if i % 100 == 7 {
                let change = MappingChange {
                    status: Some(MappingStatus::Suspended),
                    ..MappingChange::default()
                };
                store
                    .update(&m.address, &change, "bench", "t")
                    .await
                    .unwrap();
            }
        }
        eprintln!("seeded {MAPPINGS} mappings in {:.1?}", started.elapsed());
        std::fs::write(&ready, b"").unwrap();
        return Arc::new(store);
    }
    Arc::new(SqliteStore::open(&path).await.unwrap())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(seeded_store());
    // A cursor about half-way through the list.
    let middle = rt.block_on(async {
        let mut cursor = None;
        for _ in 0..20 {
            cursor = store
                .list(&MappingFilter::default(), 2_500, cursor.as_deref())
                .await
                .unwrap()
                .next_cursor;
        }
        cursor.unwrap()
    });

    let cases: Vec<(&str, MappingFilter, Option<String>)> = vec![
        ("first page", MappingFilter::default(), None),
        ("page at 50,000", MappingFilter::default(), Some(middle)),
        (
            "one owner",
            MappingFilter {
                owner: Some("owner042@example.org".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "search narrow",
            MappingFilter {
                query: Some("lake-house-prod-01".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "search broad",
            MappingFilter {
                query: Some("prod".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "search short prefix",
            MappingFilter {
                query: Some("fi".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "suspended",
            MappingFilter {
                status: Some(MappingStatus::Suspended),
                ..Default::default()
            },
            None,
        ),
    ];
    let mut group = c.benchmark_group("list 50 of 100k (SQLite)");
    for (name, filter, cursor) in cases {
        let page = rt
            .block_on(store.list(&filter, 50, cursor.as_deref()))
            .unwrap();
        assert!(!page.items.is_empty(), "{name} found nothing");
        group.bench_with_input(
            BenchmarkId::from_parameter(name),
            &(filter, cursor),
            |b, (f, cur)| {
                b.to_async(&rt)
                    .iter(|| async { store.list(f, 50, cur.as_deref()).await.unwrap() });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
