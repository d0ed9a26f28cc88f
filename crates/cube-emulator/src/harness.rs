//! An emulator without sockets, for unit tests and the fuzz targets: a
//! state (in-memory storage, application 1 with auth key `key` and secret
//! `secret`, `dev` password cost) on a runtime of its own, and requests
//! handed straight to the router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};

use crate::clock::{Clock, SystemTimeSource};
use crate::config::PasswordCost;
use crate::crypto::{Passwords, Secret};
use crate::files::Files;
use crate::providers::Providers;
use crate::router::{self, Connection};
use crate::settings::AppSettings;
use crate::state::State;
use crate::store::Store;
use crate::store::apps::{self, App};

/// The emulator's own address as far as the router knows.
const LOCAL: &str = "127.0.0.1:1";

/// A whole answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

pub(crate) struct Harness {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) state: Arc<State>,
}

impl Harness {
    /// # Panics
    /// If the runtime or the temporary database cannot be created.
    pub(crate) fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let app = App {
            id: 1,
            auth_key: "key".into(),
            auth_secret: Secret::new("secret"),
            settings: AppSettings::default(),
        };
        let state = runtime.block_on(async {
            let store = Store::open(None).expect("a temporary database");
            let stored = app.clone();
            store
                .write(move |c| apps::ensure_exists(c, &stored))
                .await
                .expect("the application is stored");
            let files = Files::open(store.dir().join("blobs"), false).expect("a files directory");
            Arc::new(State::new(
                store,
                Clock::new(Arc::new(SystemTimeSource), 0),
                format!("http://{LOCAL}"),
                None,
                files,
                Secret::new("upload-key"),
                Providers::new(Duration::from_millis(500)),
                Passwords::new(PasswordCost::Dev),
                vec![app],
                crate::limits::Limits::default(),
            ))
        });
        Self { runtime, state }
    }

    /// Sends a request from `remote` with these headers (and `Host:
    /// 127.0.0.1:1` unless they name one). `None` when the parts do not
    /// make an HTTP request at all (a method or URI that cannot be sent).
    pub(crate) fn call(
        &self,
        remote: SocketAddr,
        method: &[u8],
        uri: &str,
        headers: &[(&str, &[u8])],
        body: Vec<u8>,
    ) -> Option<Answer> {
        let mut builder = Request::builder()
            .method(http::Method::from_bytes(method).ok()?)
            .uri(uri.parse::<http::Uri>().ok()?);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            builder = builder.header(http::header::HOST, LOCAL);
        }
        for (name, value) in headers {
            builder = builder.header(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        let request = builder.body(Full::new(Bytes::from(body))).ok()?;
        let conn = Connection {
            remote,
            local: LOCAL.parse().ok()?,
            activity: None,
        };
        let state = self.state.clone();
        self.runtime.block_on(async move {
            let response = router::handle(state, request, conn).await;
            let status = response.status().as_u16();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.ok()?.to_bytes();
            Some(Answer {
                status,
                headers: parts.headers,
                body,
            })
        })
    }

    /// A JSON request from a loopback peer, optionally with a session token.
    ///
    /// # Panics
    /// If the request cannot be built.
    pub(crate) fn json(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> Answer {
        let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
        if let Some(token) = token {
            headers.push(("cb-token", token.as_bytes()));
        }
        self.call(
            "127.0.0.1:9".parse().expect("an address"),
            method.as_bytes(),
            uri,
            &headers,
            body.to_string().into_bytes(),
        )
        .expect("a well-formed request")
    }

    /// A new session's token: the application's, or `login`'s (signed up
    /// on the fly with password `password123`).
    ///
    /// # Panics
    /// If the emulator does not create the session.
    pub(crate) fn session(&self, login: Option<&str>) -> String {
        let mut body = serde_json::json!({"application_id": 1, "auth_key": "key"});
        if let Some(login) = login {
            body["user"] = serde_json::json!({"login": login, "password": "password123"});
        }
        let answer = self.json("POST", "/session", None, &body);
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        let value: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("a JSON session");
        value["session"]["token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }
}
