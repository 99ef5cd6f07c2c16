//! The real server on port 0, over real HTTP: operational endpoints, headers, pages,
//! and shutdown.

mod common;

use common::{client, free_port, start};

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
    // Built assets may be kept but are revalidated on each use: their names carry no hash
    // (a missing one is still a 404).
    let asset = c
        .get(format!("{}/pkg/none.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.headers()["cache-control"], "no-cache");
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
    // Answered in full rather than dropped; it reached `/sns` after the signal, so it is
    // turned away for SNS to deliver again elsewhere instead of being worked on.
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "the slow request is answered in full: {answer}"
    );
    assert!(answer.contains("\"draining\""), "{answer}");

    let result = tokio::time::timeout(std::time::Duration::from_secs(10), s.done)
        .await
        .expect("server stops after the shutdown signal")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}

/// Attack: anyone on the internet reads `/metrics` through the load balancer (routes,
/// volumes, outcomes). With a token it needs the token; with its own listener the public
/// one has no `/metrics` at all.
#[tokio::test]
async fn metrics_are_not_public_behind_a_token_or_on_their_own_listener() {
    let token = "metrics-token-0123456789-abcdefghijkl";
    let s = common::start_with(0, vec![("MAILVEND_METRICS_TOKEN", token.into())]).await;
    let get = |auth: Option<&str>| {
        let mut r = client().get(format!("{}/metrics", s.url));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 401);
    assert_eq!(get(Some("Bearer wrong")).await, 401);
    assert_eq!(get(Some(&format!("Bearer {token}x"))).await, 401);
    assert_eq!(get(Some(&format!("Bearer {token}"))).await, 200);

    let port = free_port();
    let own = common::start_with(
        0,
        vec![("MAILVEND_METRICS_ADDR", format!("127.0.0.1:{port}"))],
    )
    .await;
    let public = client()
        .get(format!("{}/metrics", own.url))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "no /metrics on the public listener");
    let mut scraped = None;
    for _ in 0..50 {
        if let Ok(r) = client()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            scraped = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let scraped = scraped.expect("the metrics listener answers");
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("mailvend_http_requests_total"));
    // Only /metrics is there.
    let other = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

/// Attack: guessing API tokens and sign-in links as fast as the network allows, naming a
/// new client address in `X-Forwarded-For` each time. Past the allowance every request is
/// 429; the header counts only from a configured proxy.
#[tokio::test]
async fn a_guesser_is_rate_limited_and_cannot_spoof_its_address() {
    let s = common::start_with(0, vec![("MAILVEND_RATE_LIMIT", "5".into())]).await;
    let guess = |i: usize| {
        client()
            .get(format!("{}/api/v1/addresses", s.url))
            .bearer_auth(format!("mvt_guess{i}"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
    };
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(guess(i).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let r = guess(9).await.unwrap();
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Sign-in links share the allowance; the probes and SNS do not.
    let r = client()
        .get(format!("{}/auth/local?token=guess", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = client()
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Behind a trusted proxy, each forwarded client has its own allowance.
    let behind = common::start_with(
        0,
        vec![
            ("MAILVEND_RATE_LIMIT", "2".into()),
            ("MAILVEND_TRUSTED_PROXIES", "127.0.0.1/32".into()),
        ],
    )
    .await;
    let from = |client_ip: &'static str| {
        client()
            .get(format!("{}/api/v1/addresses", behind.url))
            .header("x-forwarded-for", client_ip)
            .send()
    };
    let mut got = Vec::new();
    for ip in [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ] {
        got.push(from(ip).await.unwrap().status().as_u16());
    }
    assert_eq!(got, [401, 401, 429, 401]);
}

/// Attack: a page on another site posts a form to a server function, riding the admin's
/// cookie (CSRF). Every registered server function refuses a foreign or missing Origin
/// before it runs.
#[tokio::test]
async fn every_server_function_refuses_a_foreign_or_missing_origin() {
    let s = start().await;
    let admin = s.admin_client().await;
    let mut registered: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    registered.sort_by_key(|(path, _)| *path);
    assert!(registered.len() >= 20, "{registered:?}");
    let mut table = String::from(
        "| server function | foreign Origin | no Origin | null |\n|---|---|---|---|\n",
    );
    for (path, _) in &registered {
        let mut got = Vec::new();
        for origin in [Some("https://evil.example"), None, Some("null")] {
            let mut r = admin
                .post(format!("{}{path}", s.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("on=true&policy=reject&name=x&scope=admin&id=x&address=x");
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            got.push(r.send().await.unwrap().status().as_u16());
        }
        assert_eq!(got, [403, 403, 403], "POST {path}");
        table.push_str(&format!(
            "| POST {path} | {} | {} | {} |\n",
            got[0], got[1], got[2]
        ));
    }
    eprintln!("{table}");
    // Nothing changed: the catch-all is still off, no token was made.
    let settings = s
        .state
        .core
        .service
        .settings(&server::service::caller::AdminCaller::console())
        .await
        .unwrap();
    assert!(!settings.catch_all);
}

/// Attack: an admin leaves (or a session cookie leaks); an admin signs everyone out, and
/// every session begun before ends on its next request, theirs included.
#[tokio::test]
async fn sign_everyone_out_ends_every_session() {
    let s = start().await;
    // The local link is one per server; sign in twice with it (configured, so reusable).
    let departed = s.admin_client().await;
    let admin = s.admin_client().await;
    let r = departed.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = admin
        .post(format!("{}/fn/sign_everyone_out", s.url))
        .header("origin", s.origin())
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/login");
    for b in [&departed, &admin] {
        let r = b.get(format!("{}/", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 303, "signed out");
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
    }
    // A sign-in after it works; the sign-out is in the audit log.
    let again = s.admin_client().await;
    let r = again.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let audit = s
        .state
        .core
        .service
        .audit_log(&server::service::caller::AdminCaller::console(), None)
        .await
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.subject.contains("session_epoch")),
        "{:?}",
        audit.items
    );
}
