//! Single sign-on against a real OpenID Connect provider (oidc-provider from npm, started
//! here): sign-in as an admin (by group) and as an owner, what each may open, refused
//! sign-ins (unverified email, tampered and replayed callbacks), and the authorization matrix
//! of every server function and API route.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use common::{client, free_port};
use server::tokens::Scope;

const ADMIN: &str = "admin@corp.example";
const OWNER: &str = "owner@corp.example";
/// An admin by `MAILVEND_ADMIN_EMAILS`, in no group.
const BOSS: &str = "boss@corp.example";

/// The provider process; stopped when dropped.
struct Provider {
    child: Child,
    url: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn provider(redirect: &str) -> Provider {
    provider_on(free_port(), redirect).await
}

/// A provider on `port`, with a signing key of its own (a restart rotates the keys).
async fn provider_on(port: u16, redirect: &str) -> Provider {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("node_modules/oidc-provider").exists(),
        "node_modules/oidc-provider is missing: run `scripts/bootstrap.sh test` (make test does)"
    );
    // Owned by `Provider` from the start, so every path (a panic included) stops it.
    let provider = Provider {
        child: Command::new("node")
            .arg(root.join("end2end/oidc/provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_REDIRECT_URIS", redirect)
            .env("NODE_NO_WARNINGS", "1")
            .current_dir(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test OIDC provider"),
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/.well-known/openid-configuration", provider.url))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return provider;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the OIDC provider did not start on {}", provider.url);
}

struct Sso {
    server: common::TestServer,
    _provider: Provider,
}

fn sso_vars(issuer: &str, admin_emails: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MAILVEND_OIDC_ISSUER", issuer.to_string()),
        ("MAILVEND_OIDC_CLIENT_ID", "mailvend".into()),
        ("MAILVEND_OIDC_CLIENT_SECRET", "mailvend-test-secret".into()),
        ("MAILVEND_ADMIN_GROUPS", "mailvend-admins".into()),
        ("MAILVEND_ADMIN_EMAILS", admin_emails.to_string()),
    ]
}

async fn start() -> Sso {
    let port = free_port();
    let provider = provider(&format!("http://127.0.0.1:{port}/auth/callback")).await;
    let server = common::start_with(port, sso_vars(&provider.url, "Boss@Corp.Example")).await;
    Sso {
        server,
        _provider: provider,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        // A request the server never answers fails naming its URL, instead of hanging the
        // suite (pages hung so until the route list was generated once; docs/architecture.md).
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response, base: &str) -> String {
    let l = r.headers()["location"].to_str().unwrap();
    url::Url::parse(base).unwrap().join(l).unwrap().to_string()
}

fn attr<'a>(html: &'a str, after: &str, name: &str) -> &'a str {
    let from = html.find(after).unwrap_or(0);
    let rest = &html[from..];
    let start = rest.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
    let len = rest[start..].find('"').unwrap();
    &rest[start..start + len]
}

/// Starts a sign-in at mailvend and goes through the provider's login and consent forms
/// as `login`; returns the callback URL the provider sends the browser back to (not yet
/// visited, so tests can tamper with it).
async fn through_provider(b: &reqwest::Client, s: &Sso, login: &str) -> String {
    through_provider_noting_cookie(b, s, login).await.0
}

/// The `mailvend_session` cookie a response sets: (id, the whole header).
fn session_cookie(r: &reqwest::Response) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mailvend_session="))
        .map(|v| {
            let id = v["mailvend_session=".len()..]
                .split(';')
                .next()
                .unwrap()
                .to_string();
            (id, v.to_string())
        })
}

/// Like `through_provider`, also returning the session cookie set when the sign-in began.
async fn through_provider_noting_cookie(
    b: &reqwest::Client,
    s: &Sso,
    login: &str,
) -> (String, Option<(String, String)>) {
    through_provider_from(b, s, login, "/").await
}

/// Like `through_provider_noting_cookie`, starting at `/auth/login?next=<next>` (`next` as it
/// appears in the link, percent-encoded).
async fn through_provider_from(
    b: &reqwest::Client,
    s: &Sso,
    login: &str,
    next: &str,
) -> (String, Option<(String, String)>) {
    let r = b
        .get(format!("{}/auth/login?next={next}", s.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let first = session_cookie(&r);
    let mut url = location(&r, &s.server.url);
    let callback = format!("{}/auth/callback", s.server.url);
    for _ in 0..12 {
        if url.starts_with(&callback) {
            return (url, first);
        }
        let r = b.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            url = location(&r, &url);
            continue;
        }
        assert_eq!(r.status(), 200, "{url}");
        let html = r.text().await.unwrap();
        assert!(html.contains("<form"), "{url}: no form in\n{html}");
        let action = attr(&html, "<form", "action").to_string();
        let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else {
            vec![("prompt", "consent")]
        };
        let post = url::Url::parse(&url).unwrap().join(&action).unwrap();
        let r = b.post(post.clone()).form(&form).send().await.unwrap();
        assert!(r.status().is_redirection(), "{post}: {}", r.status());
        url = location(&r, post.as_str());
    }
    panic!("never came back to mailvend");
}

/// A browser signed in as `login`; asserts where the sign-in lands (the overview for an
/// admin, "My addresses" for an owner).
async fn signed_in(s: &Sso, login: &str) -> reqwest::Client {
    let b = browser();
    let (callback, before) = through_provider_noting_cookie(&b, s, login).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    // Starting a sign-in makes no session (it waits in a signed cookie); signing in makes
    // one, in a strict cookie.
    assert!(before.is_none(), "a session before sign-in: {before:?}");
    let (_, header) = session_cookie(&r).expect("a session cookie after signing in");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    assert!(!header.contains("Secure"), "plain http: {header}");
    let landing = if login == ADMIN || login == BOSS {
        "/"
    } else {
        "/me"
    };
    assert_eq!(r.headers()["location"], landing);
    b
}

/// A query parameter of `url`, percent-encoded again for reuse in a URL.
fn query(url: &str, name: &str) -> String {
    let value = url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} in {url}"))
        .1
        .to_string();
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn status(b: &reqwest::Client, url: String) -> u16 {
    b.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn admins_and_owners_sign_in_through_the_provider_and_see_what_is_theirs() {
    let s = start().await;
    let url = s.server.url.clone();

    let admin = signed_in(&s, ADMIN).await;
    assert_eq!(status(&admin, format!("{url}/")).await, 200);
    assert_eq!(status(&admin, format!("{url}/addresses")).await, 200);
    let html = admin
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(ADMIN), "the layout names who is signed in");

    // Vend one address for the owner and one for someone else.
    let token = s.server.token(Scope::Vend).await;
    for owner in [OWNER, "someone-else@corp.example"] {
        let r = reqwest::Client::new()
            .post(format!("{url}/api/v1/addresses"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"owner": owner, "account_type": "IT", "business_unit": "bu", "application": owner.split('@').next().unwrap(), "environment": "dev"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    let owner = signed_in(&s, OWNER).await;
    assert_eq!(status(&owner, format!("{url}/")).await, 403);
    assert_eq!(status(&owner, format!("{url}/settings")).await, 403);
    let me = owner.get(format!("{url}/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let html = me.text().await.unwrap();
    assert!(
        html.contains("bu-owner-dev-001@mail.test.example"),
        "{html}"
    );
    assert!(
        !html.contains("someone-else"),
        "an owner sees only their own mappings"
    );

    // Signing out ends the session (with our Origin; another origin is refused).
    let evil = owner
        .post(format!("{url}/auth/logout"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let out = owner
        .post(format!("{url}/auth/logout"))
        .header("origin", s.server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(status(&owner, format!("{url}/me")).await, 303);
}

/// Attack: a phishing link to `/auth/login?next=/%09/evil.example/relogin`. Browsers drop the
/// TAB, so before the fix a normal sign-in at the provider landed on `//evil.example/relogin`.
/// However `next` is spelt, the signed-in browser lands on this site.
#[tokio::test]
async fn a_crafted_next_never_leads_off_site_after_sign_in() {
    let s = start().await;
    for (next, landing) in [
        ("/%09/evil.example/relogin", "/"),
        ("/%0A/evil.example", "/"),
        ("/%0D/evil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        // A path on this site is followed, so the check is not simply "always /".
        ("%2Faddresses%3Fq%3Dx", "/addresses?q=x"),
    ] {
        let b = browser();
        let (callback, _) = through_provider_from(&b, &s, ADMIN, next).await;
        let r = b.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], landing, "{next}");
    }
}

#[tokio::test]
async fn refused_sign_ins_leave_nobody_signed_in() {
    let s = start().await;
    let url = s.server.url.clone();

    // The provider vouches for the address but says it is not verified.
    let b = browser();
    let callback = through_provider(&b, &s, "unverified@corp.example").await;
    assert_eq!(status(&b, callback).await, 403);
    assert_eq!(status(&b, format!("{url}/")).await, 303);

    // A changed state is refused, and uses up the sign-in in progress.
    let b = browser();
    let callback = through_provider(&b, &s, ADMIN).await;
    let tampered = callback.replace("state=", "state=x");
    assert_eq!(status(&b, tampered).await, 400);
    assert_eq!(
        status(&b, callback).await,
        400,
        "nothing is pending any more"
    );
    assert_eq!(status(&b, format!("{url}/")).await, 303);

    // A callback used once cannot be used again, even in the same browser: nothing is
    // pending any more; and with a new sign-in pending (its state), the provider refuses the
    // redeemed code.
    let b = browser();
    let callback = through_provider(&b, &s, ADMIN).await;
    assert_eq!(status(&b, callback.clone()).await, 303);
    assert_eq!(status(&b, callback.clone()).await, 400);
    let fresh = b.get(format!("{url}/auth/login")).send().await.unwrap();
    assert_eq!(fresh.status(), 303, "a new sign-in starts");
    let new_state = query(&location(&fresh, &url), "state");
    let old_code = query(&callback, "code");
    let replay = format!("{url}/auth/callback?code={old_code}&state={new_state}");
    assert_eq!(
        status(&b, replay).await,
        403,
        "the code was already redeemed"
    );

    // A code issued to one browser's sign-in, taken to another browser's: the other
    // browser's state is used so the state check passes, and the code is still refused
    // (PKCE: the verifier is the other browser's; the nonce would not match either).
    let victim = browser();
    let code = query(&through_provider(&victim, &s, ADMIN).await, "code");
    let attacker = browser();
    let state = query(&through_provider(&attacker, &s, OWNER).await, "state");
    let swapped = format!("{url}/auth/callback?code={code}&state={state}");
    assert_eq!(status(&attacker, swapped).await, 403);
    assert_eq!(status(&attacker, format!("{url}/me")).await, 303);

    // Local sign-in is off under SSO.
    assert_eq!(
        status(
            &browser(),
            format!("{url}/auth/local?token={}", common::LOGIN_TOKEN)
        )
        .await,
        404
    );
}

/// Every registered server function, every page of the route table and every API route, as
/// nobody, an owner and an admin.
#[tokio::test]
async fn every_door_checks_who_is_knocking() {
    let s = start().await;
    let url = s.server.url.clone();
    let anonymous = browser();
    let owner = signed_in(&s, OWNER).await;
    let admin = signed_in(&s, ADMIN).await;
    let vend_token = s.server.token(Scope::Vend).await;
    let admin_token = s.server.token(Scope::Admin).await;

    // Server functions: sessions. The matrix is checked against the functions the app
    // registers, so a new one fails here until someone says who may call it.
    let mut table = String::from("| door | anonymous | owner | admin |\n|---|---|---|---|\n");
    // Each with a body of the right shape: the admin's answer shows the call got past the
    // check (404 for a missing record, 422 for refused input — nothing here changes data
    // but the catch-all, set to what it already is).
    let absent = "nobody-here%40mail.test.example";
    let mut server_fns: BTreeMap<&str, (String, [u16; 3])> = BTreeMap::from([
        ("/fn/status", (String::new(), [401, 403, 200])),
        ("/fn/check_store", (String::new(), [401, 403, 200])),
        ("/fn/my_addresses", (String::new(), [401, 200, 200])),
        ("/fn/session", (String::new(), [200, 200, 200])),
        ("/fn/overview", (String::new(), [401, 403, 200])),
        ("/fn/vend_options", (String::new(), [401, 403, 200])),
        ("/fn/addresses", ("query[q]=x".into(), [401, 403, 200])),
        ("/fn/address", (format!("address={absent}"), [401, 403, 404])),
        (
            "/fn/vend",
            (
                "owner=not-an-address&account_type=IT&business_unit=a&application=b&environment=dev&tags=&account_name=&address=".into(),
                [401, 403, 422],
            ),
        ),
        (
            "/fn/edit",
            (
                format!("address={absent}&owner=a%40b.example&status=active&account_type=IT&tags=&aws_account_id=&notes="),
                [401, 403, 404],
            ),
        ),
        ("/fn/delete", (format!("address={absent}"), [401, 403, 404])),
        ("/fn/messages", ("query[outcome]=".into(), [401, 403, 200])),
        ("/fn/message", ("id=none%2Fx%40y".into(), [401, 403, 404])),
        ("/fn/replay", ("id=none%2Fx%40y".into(), [401, 403, 404])),
        ("/fn/held", ("cursor=".into(), [401, 403, 200])),
        ("/fn/rules", (String::new(), [401, 403, 200])),
        (
            "/fn/preview_rule",
            (
                "draft[name]=x&draft[sender_kind]=regex&draft[sender]=(bad&draft[subject_kind]=&draft[subject]=&draft[recipient_kind]=&draft[recipient]=&draft[action]=drop&draft[target]=".into(),
                [401, 403, 422],
            ),
        ),
        // A rule that redirects to the served domain: refused, nothing saved.
        (
            "/fn/add_rule",
            (
                "name=x&sender_kind=contains&sender=a&subject_kind=&subject=&recipient_kind=&recipient=&action=redirect&target=root%40mail.test.example".into(),
                [401, 403, 422],
            ),
        ),
        ("/fn/change_rule", ("number=1&name=none&change=delete".into(), [401, 403, 409])),
        ("/fn/release", ("id=none%2Fx%40y&to=owner".into(), [401, 403, 404])),
        // A bogus policy: refused before anything is written.
        (
            "/fn/class_policies",
            (
                "credential=bogus&security=forward&account=forward&billing=forward&notice=forward&other=forward".into(),
                [401, 403, 422],
            ),
        ),
        ("/fn/settings", (String::new(), [401, 403, 200])),
        ("/fn/catch_all", ("on=false".into(), [401, 403, 200])),
        ("/fn/spam_policy", ("policy=bogus".into(), [401, 403, 422])),
        ("/fn/dmarc_policy", ("policy=bogus".into(), [401, 403, 422])),
        ("/fn/notifications", (String::new(), [401, 403, 200])),
        // A webhook at the instance metadata service: refused, nothing kept.
        (
            "/fn/add_channel",
            (
                "kind=webhook&target=https%3A%2F%2F169.254.169.254%2F&dead_letter=on".into(),
                [401, 403, 422],
            ),
        ),
        ("/fn/remove_channel", ("id=ch_none".into(), [401, 403, 404])),
        ("/fn/test_channel", ("id=ch_none".into(), [401, 403, 404])),
        ("/fn/tokens", (String::new(), [401, 403, 200])),
        ("/fn/create_token", ("name=&scope=vend".into(), [401, 403, 422])),
        ("/fn/revoke_token", ("id=nope".into(), [401, 403, 404])),
        ("/fn/audit", ("cursor=".into(), [401, 403, 200])),
        ("/fn/accounts", ("query[drift]=".into(), [401, 403, 200])),
        // This server does not read an organization: the admin hears 409 saying so.
        ("/fn/sync_accounts", (String::new(), [401, 403, 409])),
        (
            "/fn/adopt_account",
            ("account_id=000000000000&owner=a%40b.example&account_type=".into(), [401, 403, 404]),
        ),
        // Root email changes need the organization too.
        (
            "/fn/move_accounts",
            ("account_ids=000000000000&owner=".into(), [401, 403, 409]),
        ),
        ("/fn/retry_job", ("account_id=000000000000".into(), [401, 403, 409])),
        (
            "/fn/mark_reachable",
            ("recipient=nobody%40x.example".into(), [401, 403, 404]),
        ),
        (
            "/fn/preview_bulk",
            ("owner=nobody%40x.example&action=suspend&to=".into(), [401, 403, 200]),
        ),
        // A bogus action: the admin is told so, and nothing changes.
        (
            "/fn/bulk_owner",
            ("owner=nobody%40x.example&action=bogus&to=".into(), [401, 403, 422]),
        ),
        // The admin's call ends every session, so it is made last (below).
        ("/fn/sign_everyone_out", (String::new(), [401, 403, 0])),
    ]);
    let mut registered: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    registered.sort_by_key(|(path, _)| *path);
    assert!(!registered.is_empty(), "no server functions registered");
    for (path, method) in registered {
        assert_eq!(
            method,
            http::Method::POST,
            "{path}: the matrix posts forms; a {method} server function needs its own case"
        );
        let (body, want) = server_fns.remove(path).unwrap_or_else(|| {
            panic!(
                "{path} is a server function the matrix does not know: add it to `server_fns` \
                 with what anonymous, owner and admin callers must get"
            )
        });
        let mut got = Vec::new();
        for b in [&anonymous, &owner, &admin] {
            if path == "/fn/sign_everyone_out" && std::ptr::eq(b, &admin) {
                got.push(0);
                continue;
            }
            let r = b
                .post(format!("{url}{path}"))
                .header("origin", s.server.origin())
                .header("accept", "application/json")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            got.push(r.status().as_u16());
        }
        assert_eq!(got, want, "POST {path}");
        table.push_str(&format!(
            "| POST {path} | {} | {} | {} |\n",
            got[0], got[1], got[2]
        ));
    }
    assert!(
        server_fns.is_empty(),
        "the matrix names server functions that are not registered: {:?}",
        server_fns.keys()
    );
    // Pages: every page of the route table, by its pattern, with a path to it.
    let mut pages: BTreeMap<&str, (String, [u16; 3])> = BTreeMap::from([
        ("/", ("/".into(), [303, 403, 200])),
        ("/addresses", ("/addresses".into(), [303, 403, 200])),
        (
            "/addresses/:address",
            (format!("/addresses/{absent}"), [303, 403, 404]),
        ),
        ("/messages", ("/messages".into(), [303, 403, 200])),
        ("/held", ("/held".into(), [303, 403, 200])),
        (
            "/messages/*id",
            ("/messages/none%2Fx%40y".into(), [303, 403, 404]),
        ),
        ("/settings", ("/settings".into(), [303, 403, 200])),
        ("/notifications", ("/notifications".into(), [303, 403, 200])),
        ("/tokens", ("/tokens".into(), [303, 403, 200])),
        ("/accounts", ("/accounts".into(), [303, 403, 200])),
        ("/audit", ("/audit".into(), [303, 403, 200])),
        ("/me", ("/me".into(), [303, 200, 200])),
        ("/login", ("/login".into(), [200, 200, 200])),
    ]);
    for page in app::routes::PAGES {
        let (path, want) = pages.remove(page.path).unwrap_or_else(|| {
            panic!(
                "{} is a page the matrix does not know: add it to `pages` with what anonymous, \
                 owner and admin visitors must get",
                page.path
            )
        });
        let mut got = Vec::new();
        for b in [&anonymous, &owner, &admin] {
            got.push(status(b, format!("{url}{path}")).await);
        }
        assert_eq!(got, want, "GET {path}");
        table.push_str(&format!(
            "| GET {path} | {} | {} | {} |\n",
            got[0], got[1], got[2]
        ));
    }
    assert!(
        pages.is_empty(),
        "the matrix names pages the route table does not list: {:?}",
        pages.keys()
    );
    // An unlisted page is refused like an admin page; an admin gets the 404.
    let mut got = Vec::new();
    for b in [&anonymous, &owner, &admin] {
        got.push(status(b, format!("{url}/secret")).await);
    }
    assert_eq!(got, [303, 403, 404], "GET /secret");
    table.push_str(&format!(
        "| GET /secret | {} | {} | {} |\n",
        got[0], got[1], got[2]
    ));
    // The REST API takes bearer tokens only: a session cookie is not a credential there.
    // Anonymous = no token, owner = the owner's session cookie, then the vend-scoped and
    // admin-scoped tokens.
    let address = {
        let r = reqwest::Client::new()
            .post(format!("{url}/api/v1/addresses"))
            .bearer_auth(&admin_token)
            .json(&serde_json::json!({"owner": OWNER, "account_type": "IT", "business_unit": "m", "application": "matrix", "environment": "dev"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<serde_json::Value>().await.unwrap()["address"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let vend_body = serde_json::json!({"owner": OWNER, "account_type": "IT", "business_unit": "m", "application": "matrix", "environment": "qa"});
    let sample_body = serde_json::json!({"OwnerAddress": OWNER, "AccountType": "IT", "Tags": {"BusinessUnit": "m", "ApplicationName": "matrix2", "Environment": "dev"}});
    let routes: Vec<(&str, String, Option<serde_json::Value>, [u16; 4])> = vec![
        (
            "POST",
            "/api/v1/addresses".into(),
            Some(vend_body),
            [401, 401, 201, 201],
        ),
        (
            "POST",
            "/api/v1/vend".into(),
            Some(sample_body),
            [401, 401, 201, 201],
        ),
        (
            "GET",
            "/api/v1/addresses".into(),
            None,
            [401, 401, 200, 200],
        ),
        // The admin vended it: a vend token sees only what it vended.
        (
            "GET",
            format!("/api/v1/addresses/{address}"),
            None,
            [401, 401, 404, 200],
        ),
        (
            "PATCH",
            format!("/api/v1/addresses/{address}"),
            Some(serde_json::json!({"notes": "x"})),
            [401, 401, 403, 200],
        ),
        ("GET", "/api/v1/messages".into(), None, [401, 401, 403, 200]),
        (
            "GET",
            "/api/v1/messages/none%2Fx@y".into(),
            None,
            [401, 401, 403, 404],
        ),
        (
            "POST",
            "/api/v1/messages/none%2Fx@y/replay".into(),
            None,
            [401, 401, 403, 404],
        ),
        ("GET", "/api/v1/settings".into(), None, [401, 401, 403, 200]),
        (
            "PATCH",
            "/api/v1/settings".into(),
            Some(serde_json::json!({"catch_all": false})),
            [401, 401, 403, 200],
        ),
        (
            "DELETE",
            format!("/api/v1/addresses/{address}"),
            None,
            [401, 401, 403, 200],
        ),
        // Root email changes: admin only; this server reads no organization (409).
        (
            "POST",
            "/api/v1/accounts/move".into(),
            Some(serde_json::json!({"account_ids": ["000000000000"]})),
            [401, 401, 403, 409],
        ),
        (
            "POST",
            "/api/v1/accounts/000000000000/move".into(),
            Some(serde_json::json!({})),
            [401, 401, 403, 409],
        ),
        (
            "GET",
            "/api/v1/accounts/jobs".into(),
            None,
            [401, 401, 403, 200],
        ),
        (
            "GET",
            "/api/v1/accounts/000000000000/job".into(),
            None,
            [401, 401, 403, 404],
        ),
        (
            "POST",
            "/api/v1/accounts/000000000000/job/retry".into(),
            None,
            [401, 401, 403, 409],
        ),
        (
            "GET",
            "/api/v1/openapi.json".into(),
            None,
            [200, 200, 200, 200],
        ),
    ];
    table.push_str("| REST route | no token | owner's cookie | vend token | admin token |\n|---|---|---|---|---|\n");
    for (method, path, body, want) in routes {
        let mut got = Vec::new();
        for who in 0..4 {
            let client = if who == 1 {
                owner.clone()
            } else {
                reqwest::Client::new()
            };
            let mut req = client.request(method.parse().unwrap(), format!("{url}{path}"));
            match who {
                2 => req = req.bearer_auth(&vend_token),
                3 => req = req.bearer_auth(&admin_token),
                _ => {}
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let r = req.send().await.unwrap();
            got.push(r.status().as_u16());
        }
        // Vending twice gives new numbers, so 201 each time; the rest are reads or idempotent.
        assert_eq!(got, want, "{method} {path}");
        table.push_str(&format!(
            "| {method} {path} | {} | {} | {} | {} |\n",
            got[0], got[1], got[2], got[3]
        ));
    }
    // Last, the admin signs everyone out: it runs (a redirect to sign-in), and then neither
    // session opens an admin or owner door.
    let r = admin
        .post(format!("{url}/fn/sign_everyone_out"))
        .header("origin", s.server.origin())
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    table.push_str(&format!(
        "| POST /fn/sign_everyone_out (admin, last) | {} |\n",
        r.status().as_u16()
    ));
    assert_eq!(status(&admin, format!("{url}/settings")).await, 303);
    assert_eq!(status(&owner, format!("{url}/me")).await, 303);
    eprintln!("{table}");
}

/// The session cookie's value from a `Set-Cookie`, for sending by hand to another server.
async fn session_id_after_sign_in(s: &Sso, login: &str) -> String {
    let b = browser();
    let callback = through_provider(&b, s, login).await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    session_cookie(&r).expect("a session cookie").0
}

/// Attack: an admin listed in MAILVEND_ADMIN_EMAILS leaves and is taken off the list, but
/// keeps a signed-in browser. On the next request after the configuration changes (here a
/// second server on the same store without them), they are an owner.
#[tokio::test]
async fn an_admin_taken_off_the_list_is_an_owner_on_the_next_request() {
    let s = start().await;
    let boss = session_id_after_sign_in(&s, BOSS).await;
    let by_group = session_id_after_sign_in(&s, ADMIN).await;
    let call = |url: String, id: String| async move {
        reqwest::Client::new()
            .post(format!("{url}/fn/status"))
            .header("cookie", format!("mailvend_session={id}"))
            .header("origin", url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(call(s.server.url.clone(), boss.clone()).await, 200);
    let port = free_port();
    let after = common::start_in(
        s.server.dir(),
        port,
        sso_vars(&s._provider.url, "someone-else@corp.example"),
    )
    .await;
    assert_eq!(
        call(after.url.clone(), boss.clone()).await,
        403,
        "no longer an admin"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/fn/my_addresses", after.url))
        .header("cookie", format!("mailvend_session={boss}"))
        .header("origin", after.url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "still signed in, as an owner");
    // An admin by group stays one (the group is re-read at the next sign-in).
    assert_eq!(call(after.url.clone(), by_group).await, 200);
}

/// Attack: a loop of anonymous `GET /auth/login` used to write a session row each time.
/// The sign-in in progress now waits in a signed cookie; the store sees nothing.
#[tokio::test]
async fn an_anonymous_sign_in_loop_writes_nothing_to_the_store() {
    let s = start().await;
    for _ in 0..50 {
        let r = client()
            .get(format!("{}/auth/login?next=/addresses", s.server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        let c = cookies[0].to_str().unwrap();
        assert!(c.starts_with("mailvend_login="), "{c}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
            assert!(c.contains(attribute), "{attribute}: {c}");
        }
    }
    let db = s.server.dir().path().join("mailvend.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "anonymous sign-in starts wrote sessions");
    // The sign-in still completes, and a forged or foreign pending cookie is refused.
    signed_in(&s, OWNER).await;
    let b = browser();
    let callback = through_provider(&b, &s, OWNER).await;
    let forged = client()
        .get(&callback)
        .header("cookie", "mailvend_login=eyJsb2dpbiI6e319.AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
}

/// The identity provider rotates its signing keys while mailvend runs: the next sign-in,
/// signed with a key id mailvend has not seen, reads the keys again instead of failing
/// until a restart.
#[tokio::test]
async fn a_rotated_provider_key_does_not_break_sign_in() {
    let mut s = start().await;
    signed_in(&s, OWNER).await;
    let port: u16 = s._provider.url.rsplit(':').next().unwrap().parse().unwrap();
    let redirect = format!("{}/auth/callback", s.server.url);
    drop(std::mem::replace(
        &mut s._provider,
        Provider {
            child: Command::new("true").spawn().unwrap(),
            url: String::new(),
        },
    ));
    s._provider = provider_on(port, &redirect).await;
    signed_in(&s, OWNER).await;
    signed_in(&s, ADMIN).await;
}

/// Attack: an owner who is handed an address reads the mail sent to it before it was
/// theirs, the SES error text, or the admin address that caught mail meant for them. The
/// owner's view has types of its own and starts when the address became theirs.
#[tokio::test]
async fn an_owner_sees_only_their_own_mail_since_the_address_became_theirs() {
    use app::model::{MessageRecord, Outcome};
    let s = start().await;
    let url = s.server.url.clone();
    let admin_token = s.server.token(Scope::Admin).await;
    let api = reqwest::Client::new();
    let r = api
        .post(format!("{url}/api/v1/addresses"))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({"owner": "previous@corp.example", "account_type": "IT", "business_unit": "hand", "application": "over", "environment": "dev"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let address = r.json::<serde_json::Value>().await.unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let log = |id: &str, at: String, error: Option<&str>, to: &str| MessageRecord {
        id: MessageRecord::id_for(id, &address),
        ses_message_id: id.into(),
        recipient: address.clone(),
        sender: "no-reply@signin.aws".into(),
        subject: Some(format!("subject of {id}")),
        size: 10,
        verdicts: "spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS".into(),
        outcome: Outcome::Forwarded,
        delivered_to: Some(to.into()),
        detail: "forwarded".into(),
        mailer_message_id: Some(format!("mailer-{id}")),
        error: error.map(String::from),
        attempts: 1,
        received_at: at.clone(),
        updated_at: at,
        delivery: None,
        class: None,
        policy: None,
    };
    let messages = &s.server.state.core.stores.messages;
    messages
        .settle(&log(
            "before-handover",
            server::clock::now_rfc3339(),
            None,
            "previous@corp.example",
        ))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = api
        .patch(format!("{url}/api/v1/addresses/{address}"))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({"owner": OWNER, "notes": "private admin note"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    messages
        .settle(&log(
            "to-the-admin",
            server::clock::now_rfc3339(),
            Some("554 Message rejected: secret SES detail"),
            "admin@corp.example",
        ))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    messages
        .settle(&log("to-them", server::clock::now_rfc3339(), None, OWNER))
        .await
        .unwrap();

    let owner = signed_in(&s, OWNER).await;
    let r = owner
        .post(format!("{url}/fn/my_addresses"))
        .header("origin", s.server.origin())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for hidden in [
        "before-handover",
        "previous@corp.example",
        "private admin note",
        "secret SES detail",
        "admin@corp.example",
        "mailer-",
    ] {
        assert!(
            !text.contains(hidden),
            "{hidden} shown to the owner: {text}"
        );
    }
    let mine: serde_json::Value = serde_json::from_str(&text).unwrap();
    let subjects: Vec<&str> = mine["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["subject of to-them", "subject of to-the-admin"]);
    assert_eq!(mine["messages"][1]["outcome"], "undeliverable");
}
