//! Pages under concurrent load, in a process of their own: every HTML answer's policy carries
//! the nonce of its own scripts.
//!
//! Alone here because, run in one process beside the other server tests (each on its own
//! runtime, two at a time), one request in several hundred sometimes never answered (3 runs
//! in 4 of tests/http.rs; never in 9 runs alone, nor in 2 runs with one test at a time).
//! The cause is not found; what Leptos keeps per process across runtimes is the suspect. A
//! production server has one runtime.

mod common;

use common::start;

/// Every HTML answer's policy carries the nonce of its own script tags (issue 15: the policy
/// set from inside the render was sometimes lost, and the page went out under the no-script
/// fallback, unstyled and dead). Every page of the route table, concurrently, many times.
#[tokio::test]
async fn every_page_carries_the_nonce_of_its_scripts_under_load() {
    let s = start().await;
    let c = s.admin_client().await;
    let paths: Vec<String> = app::routes::PAGES
        .iter()
        .map(|p| {
            p.path
                .replace(":address", "nobody%40mail.test.example")
                .replace("*id", "none%2Fx%40y")
        })
        .chain(["/no-such-page".to_string()])
        .collect();
    let mut checks = Vec::new();
    // 182 rounds of 11 answers: just over 2,000 requests.
    for round in 0..182 {
        for path in &paths {
            let (c, url) = (c.clone(), format!("{}{path}", s.url));
            checks.push(tokio::spawn(async move {
                // A page that never answers fails here, naming itself, instead of hanging.
                let r = tokio::time::timeout(std::time::Duration::from_secs(60), async {
                    let r = c.get(&url).send().await.unwrap();
                    let headers = r.headers().clone();
                    (headers, r.text().await.unwrap())
                })
                .await
                .unwrap_or_else(|_| panic!("round {round} {url}: no answer in 60 s"));
                let (headers, html) = r;
                let csp = headers["content-security-policy"].to_str().unwrap();
                check_nonces(csp, &html, &format!("round {round} {url}"));
            }));
        }
    }
    for check in checks {
        check.await.unwrap();
    }
}

/// The nonce of an HTML answer's policy and of its scripts, which must agree.
async fn nonces_agree(r: reqwest::Response, what: &str) {
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    check_nonces(&csp, &r.text().await.unwrap(), what);
}

/// Every script of `html` carries the nonce `csp` allows.
fn check_nonces(csp: &str, html: &str, what: &str) {
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("{what}: no nonce in {csp}"));
    let scripts = html.matches("<script").count();
    assert!(scripts > 0, "{what}: no scripts");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "{what}"
    );
}

/// The first page after signing in, and the page a plain form post redirects back to.
#[tokio::test]
async fn pages_right_after_sign_in_and_after_a_form_post_carry_their_nonce() {
    let s = start().await;
    for i in 0..20 {
        let c = s.admin_client().await;
        let r = c.get(format!("{}/", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        nonces_agree(r, &format!("first page after sign-in {i}")).await;
        let post = c
            .post(format!("{}/fn/catch_all", s.url))
            .header("origin", s.origin())
            .header("referer", format!("{}/settings", s.url))
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("on={}", i % 2 == 0))
            .send()
            .await
            .unwrap();
        assert!(post.status().is_redirection(), "{}", post.status());
        let back = post.headers()["location"].to_str().unwrap().to_string();
        let url = if back.starts_with("http") {
            back
        } else {
            format!("{}{back}", s.url)
        };
        let r = c.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        nonces_agree(r, &format!("page after form post {i}")).await;
    }
}
