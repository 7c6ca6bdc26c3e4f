use lambda_http::http::StatusCode;
use lookout_app::ports::TargetStore as _;
use serde_json::json;

use super::testkit::{app, Browser, ADMIN, READ};

#[tokio::test]
async fn without_a_session_pages_go_to_the_sign_in_and_forms_are_401() {
    let mut b = Browser::new(app());
    let p = b.get("/console/targets").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/console/login"));
    let p = b.post("/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_without_the_token() {
    let mut b = Browser::new(app());
    let form = b.get("/console/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("type=\"password\""));
    let csrf = form.csrf().unwrap();
    let p = b
        .post("/console/login", &[("_csrf", &csrf), ("token", ADMIN)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/console/targets"));
    let cookie = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("lookout_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "loopback: no Secure ({cookie})");
    assert!(
        !cookie.contains("Max-Age"),
        "a browser session cookie ({cookie})"
    );
    assert!(!cookie.contains(ADMIN));
    let list = b.get("/console/targets").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(ADMIN), "the token is in no page");
}

#[tokio::test]
async fn outside_loopback_the_cookie_is_secure() {
    let mut b = Browser::new(app());
    b.host = "console.example.com".into();
    b.get("/console/login").await;
    let csrf = b.csrf.clone().unwrap();
    let p = b
        .post("/console/login", &[("_csrf", &csrf), ("token", READ)])
        .await;
    let cookie = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("lookout_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn behind_a_tls_proxy_on_loopback_the_cookie_is_secure_too() {
    let mut b = Browser::new(app());
    b.get("/console/login").await;
    let csrf = b.csrf.clone().unwrap();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:9000/console/login")
        .header("host", "127.0.0.1:9000")
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            format!("lookout_login={}", b.cookies["lookout_login"]),
        )
        .body(lambda_http::Body::Text(format!(
            "_csrf={csrf}&token={READ}"
        )))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("lookout_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn an_inline_submit_refused_by_the_gate_gets_a_bare_message_not_a_page() {
    let b = Browser::signed_in(app(), ADMIN).await;
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:9000/console/targets/x/check")
        .header("host", "127.0.0.1:9000")
        .header("x-console-fragment", "1")
        .header("cookie", jar.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(lambda_http::Body::Text("_csrf=forged".into()))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        _ => String::new(),
    };
    assert!(body.starts_with("<p class=\"form-error\""), "{body}");
    assert!(!body.contains("<nav"), "{body}");
    // With no session at all (it expired): the same bare message, 401.
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:9000/console/targets/x/check")
        .header("host", "127.0.0.1:9000")
        .header("x-console-fragment", "1")
        .body(lambda_http::Body::Text("_csrf=x".into()))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    match resp.body() {
        lambda_http::Body::Text(t) => assert!(t.starts_with("<p class=\"form-error\""), "{t}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_token_or_a_login_without_its_csrf_token_opens_no_session() {
    let mut b = Browser::new(app());
    b.get("/console/login").await;
    let csrf = b.csrf.clone().unwrap();
    let p = b
        .post("/console/login", &[("_csrf", &csrf), ("token", "nope")])
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(!b.cookies.contains_key("lookout_session"));
    let p = b.post("/console/login", &[("token", ADMIN)]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("lookout_session"));
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_the_read_token_cannot_post() {
    let mut admin = Browser::signed_in(app(), ADMIN).await;
    let p = admin.post("/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("CSRF"));
    let p = admin.post("/console/logout", &[("_csrf", "forged")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = admin.submit("/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(!admin.cookies.contains_key("lookout_session"));

    let mut read = Browser::signed_in(app(), READ).await;
    let list = read.get("/console/targets").await;
    assert!(
        !list.body.contains("data-action=\"new-server\""),
        "no forms for the read token"
    );
    let p = read
        .submit(
            "/console/targets/new",
            &[
                ("kind", "server"),
                ("id", "x"),
                ("group", "g"),
                ("url", "http://127.0.0.1:9/"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(read.app.store.get_target("x").await.unwrap().is_none());
}

#[tokio::test]
async fn the_list_filters_and_keeps_hostile_names_as_text() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id": "evil", "name": "<script>alert(1)</script>", "kind": "server", "group": "web", "url": "http://127.0.0.1:9/"})).await;
    b0.create_target(json!({"id": "p1", "name": "proxy one", "kind": "proxy", "group": "pool", "proxy_url": "http://127.0.0.1:9", "test_urls": ["http://127.0.0.1:9/"]})).await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let all = b.get("/console/targets").await;
    assert!(
        all.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        all.body
    );
    assert!(!all.body.contains("<script>alert"));
    assert!(all.body.contains("data-id=\"evil\"") && all.body.contains("data-id=\"p1\""));
    let proxies = b.get("/console/targets?kind=proxy").await;
    assert!(proxies.body.contains("data-id=\"p1\"") && !proxies.body.contains("data-id=\"evil\""));
    let q = b.get("/console/targets?q=SCRIPT").await;
    assert!(q.body.contains("data-id=\"evil\"") && !q.body.contains("data-id=\"p1\""));
    let ar = b.get("/console/targets?lang=ar").await;
    assert!(ar.body.contains("dir=\"rtl\""));
    assert!(ar
        .headers
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("lookout_lang=ar")));
    assert!(ar.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
}
