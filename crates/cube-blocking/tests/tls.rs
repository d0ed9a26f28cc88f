//! HTTPS with a self-signed certificate: trusted when its root is added,
//! refused when not.

mod support;

use cube_blocking::{Client, Error, proto};
use support::tls_server;

#[test]
fn trusts_a_self_signed_server_once_its_root_is_added() {
    let (port, cert) = tls_server();
    let client = Client::builder(1, "key")
        .base_url(format!("https://localhost:{port}"))
        .add_root_certificate(cert)
        .build()
        .unwrap();
    let info = client.create_application_session().unwrap();
    assert_eq!(info.token.unwrap().expose(), "tls-token");
}

#[test]
fn refuses_a_self_signed_server_by_default() {
    let (port, _) = tls_server();
    let client = Client::builder(1, "key")
        .base_url(format!("https://localhost:{port}"))
        .build()
        .unwrap();
    let err = client.create_application_session().unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(!client.is_session_valid());
}
