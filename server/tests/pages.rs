//! Pages under concurrent load, in a process of their own: every HTML answer's policy carries
//! the nonce of its own scripts.
//!
//! In a process of its own since one request in a few hundred hung here beside the other
//! server tests; the cause (Leptos's route-list generation, see the last test) is fixed.

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

/// Pages answer while other servers are built in the same process (every test of a suite
/// starts one). Leptos suppresses resource loading process-wide while it generates a route
/// list, and a resource first polled in that window waits forever (leptos-rs/leptos#4773):
/// before the route list was generated once per process, one request in a few hundred hung
/// here, as it did now and then in the other suites.
#[tokio::test]
async fn pages_answer_while_other_servers_are_built() {
    let s = start().await;
    let c = s.admin_client().await;
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let builder = {
        let (state, building) = (s.state.clone(), building.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut built = 0u32;
            while building.load(std::sync::atomic::Ordering::Relaxed) {
                let _guard = rt.enter();
                drop(server::web::router(state.clone()));
                built += 1;
            }
            built
        })
    };
    let mut unanswered = Vec::new();
    for round in 0..300 {
        let answers: Vec<_> = ["/", "/addresses", "/messages"]
            .into_iter()
            .map(|path| {
                let (c, url) = (c.clone(), format!("{}{path}", s.url));
                tokio::spawn(async move {
                    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                        c.get(&url).send().await.unwrap().text().await.unwrap()
                    })
                    .await;
                    (url, r.is_ok())
                })
            })
            .collect();
        for a in answers {
            let (url, answered) = a.await.unwrap();
            if !answered {
                unanswered.push(format!("round {round} {url}"));
            }
        }
        if unanswered.len() >= 3 {
            break;
        }
    }
    building.store(false, std::sync::atomic::Ordering::Relaxed);
    let built = builder.join().unwrap();
    assert!(built > 0, "no router was built meanwhile");
    assert!(
        unanswered.is_empty(),
        "pages never answered while {built} routers were built: {unanswered:?}"
    );
}
