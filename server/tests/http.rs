//! The real server on port 0, over real HTTP: operational endpoints, headers, pages,
//! and shutdown.

mod common;

use common::{client, start};

#[tokio::test]
async fn healthz_answers_when_the_store_does_and_503_when_it_does_not() {
    let s = start().await;
    let health = || async {
        let r = client()
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(health().await, (200, serde_json::json!({"status": "ok"})));
    s.store.close().await;
    assert_eq!(
        health().await,
        (503, serde_json::json!({"status": "unavailable"}))
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let s = start().await;
    let c = client();
    for _ in 0..3 {
        c.get(format!("{}/healthz", s.url)).send().await.unwrap();
    }
    // Unlisted pages need an admin (the guard refuses them by default), who gets the 404.
    s.admin_client()
        .await
        .get(format!("{}/definitely-missing", s.url))
        .send()
        .await
        .unwrap();
    let r = c.get(format!("{}/metrics", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            r#"mailvend_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="(static or not found)",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("mailvend_build_info{version="), "{text}");
    assert!(
        text.contains("mailvend_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

/// Attack: `curl -X PROBE1 …`, `-X PROBE2 …`: every invented method used to become a new
/// metric series, kept for the life of the process (memory grows without bound).
#[tokio::test]
async fn invented_http_methods_do_not_become_metric_labels() {
    let s = start().await;
    let c = client();
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        c.request(method, format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap();
    }
    let text = c
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("PROBE"), "{text}");
    let other: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mailvend_http_requests_total{method=\"other\""))
        .collect();
    let total: u64 = other
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 20, "all 20 counted under one label: {other:?}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = start().await;
    let c = client();
    for path in ["/healthz", "/metrics", "/", "/addresses", "/nope"] {
        let r = c.get(format!("{}{path}", s.url)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "plain http must not send HSTS"
        );
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    // Built assets may be cached (a missing one is still a 404, but never "no-store").
    let asset = c
        .get(format!("{}/pkg/none.js", s.url))
        .send()
        .await
        .unwrap();
    assert!(asset.headers().get("cache-control").is_none());
    let json_csp = c.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert!(json_csp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}

#[tokio::test]
async fn pages_render_on_the_server_with_a_fresh_nonce_each_time() {
    let s = start().await;
    let c = s.admin_client().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let r = c.get(format!("{}/", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the CSP")
            .to_string();
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "script nonce matches the header"
        );
        // Rendered server-side, with the status the resource resolved to, not a loading state.
        assert!(html.contains("mail.test.example"), "{html}");
        assert!(html.contains(">SQLite<"), "{html}");
        assert!(!html.contains("Loading…"), "{html}");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn a_page_view_leaves_the_session_alone() {
    // Every page asks the session for a waiting notice; asking must not mark the session
    // changed, or each page view would write it back to the store (and set its cookie again).
    let s = start().await;
    let c = s.admin_client().await;
    for path in ["/", "/addresses", "/login"] {
        let r = c.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "{path}: {:?}",
            r.headers().get("set-cookie")
        );
    }
    let r = client()
        .get(format!("{}/login", s.url))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none(), "signed out");
}

#[tokio::test]
async fn unknown_pages_are_404_and_oversized_bodies_are_refused() {
    let s = start().await;
    let c = client();
    // A path the route table does not list is closed by default: signed out, to sign-in.
    let r = c
        .get(format!("{}/no/such/page", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Fno%2Fsuch%2Fpage");
    let r = s
        .admin_client()
        .await
        .get(format!("{}/no/such/page", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));

    let big = vec![b'x'; server::web::MAX_BODY_BYTES + 1];
    let r = c
        .post(format!("{}/fn/check_store", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn server_functions_answer_json() {
    let s = start().await;
    let r = s
        .admin_client()
        .await
        .post(format!("{}/fn/check_store", s.url))
        .header("origin", s.origin())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["checked_at"].as_i64().unwrap() > 1_700_000_000, "{v}");
}

#[tokio::test]
async fn shutdown_lets_the_server_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = start().await;
    let addr = s.url.trim_start_matches("http://").to_string();
    // A slow request: its head and half its body now, the rest after the signal.
    let body = br#"{"Type":"Notification"}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /sns HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(first).await.unwrap();
    slow.flush().await.unwrap();
    // Give the server time to start reading the request before it is told to stop.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    s.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !s.done.is_finished(),
        "the server waits for the request it is still reading"
    );
    assert!(
        client()
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .is_err(),
        "no new connection is accepted after the signal"
    );

    slow.write_all(rest).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "the slow request is answered in full (a malformed SNS message): {answer}"
    );
    assert!(answer.contains("bad_sns_message"), "{answer}");

    let result = tokio::time::timeout(std::time::Duration::from_secs(10), s.done)
        .await
        .expect("server stops after the shutdown signal")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}
