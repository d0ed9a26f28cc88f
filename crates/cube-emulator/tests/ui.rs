//! The web UI's files: where they are served (under `/_emulator/ui/` only),
//! how (content types, a strict content security policy, no sniffing),
//! and who may load them (the admin rules; with an admin token the files
//! load without it, the data does not).
//!
//! The UI at work in a real browser is `examples/tests/ui_browser.rs`.

mod common;

use common::{Emu, Resp};
use cube_emulator::EmulatorConfig;

fn header<'a>(resp: &'a Resp, name: &str) -> &'a str {
    resp.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn the_page_its_script_and_its_style_are_served_with_a_strict_policy() {
    let emu = Emu::start();
    for (path, content_type) in [
        ("/_emulator/ui/", "text/html; charset=utf-8"),
        ("/_emulator/ui", "text/html; charset=utf-8"),
        ("/_emulator/ui/index.html", "text/html; charset=utf-8"),
        ("/_emulator/ui/app.js", "text/javascript; charset=utf-8"),
        ("/_emulator/ui/app.css", "text/css; charset=utf-8"),
    ] {
        let resp = emu.get(path, None);
        resp.assert(200);
        assert_eq!(header(&resp, "content-type"), content_type, "{path}");
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&resp, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&resp, "cache-control"), "no-store", "{path}");
        let policy = header(&resp, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert!(!resp.text.is_empty());
    }
    emu.get("/_emulator/ui/nothing.js", None).assert(404);
    emu.get("/_emulator/ui/app.js/x", None).assert(404);
    emu.post("/_emulator/ui/", None, serde_json::json!({}))
        .assert(404);
}

#[test]
fn the_page_runs_no_inline_script_or_style_and_loads_only_its_own_files() {
    let emu = Emu::start();
    let page = emu.get("/_emulator/ui/", None).text;
    // Every script has a source of its own; no handler or style attribute.
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "{page}");
    assert!(
        scripts[0]
            .trim_start()
            .starts_with("type=\"module\" src=\"/_emulator/ui/app.js\"")
    );
    assert!(scripts[0].contains("></script>"));
    for inline in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " style=",
        "<style",
        "javascript:",
    ] {
        assert!(!page.contains(inline), "{inline} in the page");
    }
    // What it loads: its own files, under /_emulator/ui/.
    for attribute in ["src=\"", "href=\""] {
        for part in page.split(attribute).skip(1) {
            let target = part.split('"').next().unwrap();
            assert!(
                target.starts_with("/_emulator/ui/")
                    || target.starts_with('#')
                    || target == "data:,",
                "{attribute}{target}"
            );
        }
    }
    // The script calls the admin API, and nothing else: one fetch, under
    // /_emulator; it never writes markup from data.
    let script = emu.get("/_emulator/ui/app.js", None).text;
    assert_eq!(script.matches("fetch(").count(), 1, "one way out");
    assert!(script.contains("fetch(\"/_emulator\" + path, init)"));
    for risky in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!script.contains(risky), "{risky} in the script");
    }
    // The token is kept for the tab only.
    assert!(script.contains("sessionStorage"));
    assert!(!script.contains("localStorage"));
}

#[test]
fn the_ui_adds_no_route_outside_the_admin_prefix() {
    let emu = Emu::start();
    for path in [
        "/ui",
        "/ui/",
        "/ui/app.js",
        "/app.js",
        "/app.css",
        "/index.html",
        "/_emulatorui/",
        "/emulator/ui/",
    ] {
        emu.get(path, None).assert(404);
    }
}

#[test]
fn with_an_admin_token_the_files_load_but_the_data_needs_the_token() {
    let emu = Emu::with(EmulatorConfig {
        admin_token: Some("ui-token".into()),
        ..EmulatorConfig::default()
    });
    for path in [
        "/_emulator/ui/",
        "/_emulator/ui/app.js",
        "/_emulator/ui/app.css",
    ] {
        emu.get(path, None).assert(200);
    }
    emu.get("/_emulator/apps", None).assert(401);
    emu.send(
        "GET",
        "/_emulator/apps",
        &[("Authorization", "Bearer ui-token")],
        None,
        "",
    )
    .assert(200);
    // Unknown files are still 404, not the page.
    emu.get("/_emulator/ui/other", None).assert(404);
}

#[test]
fn without_a_token_the_files_answer_loopback_clients_only() {
    let emu = Emu::with(EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..EmulatorConfig::default()
    });
    let port = emu.running.addr().port();
    let agent = common::agent();
    let status = |host: &str| {
        agent
            .get(&format!("http://{host}:{port}/_emulator/ui/"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status("127.0.0.1"), 200);
    let Some(ip) = common::non_loopback_ip() else {
        panic!(
            "this machine has no non-loopback address to check the remote half with; \
             the admin rules are checked on one in tests/admin.rs"
        );
    };
    assert_eq!(status(&ip.to_string()), 403);
}
