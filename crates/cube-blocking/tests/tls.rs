//! HTTPS with a self-signed certificate: trusted when its root is added,
//! refused when not.

use cube_blocking::{Client, Error, Roots, proto};
use cube_test_support::fake::tls_server;

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
fn platform_roots_plus_the_added_root_trust_it_and_platform_alone_does_not() {
    let (port, cert) = tls_server();
    let url = format!("https://localhost:{port}");
    let trusting = Client::builder(1, "key")
        .base_url(&url)
        .roots(Roots::Platform)
        .add_root_certificate(cert)
        .build()
        .unwrap();
    trusting.create_application_session().unwrap();
    let plain = Client::builder(1, "key")
        .base_url(&url)
        .roots(Roots::Platform)
        .build()
        .unwrap();
    assert!(matches!(
        plain.create_application_session().unwrap_err(),
        Error::Transport(_)
    ));
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

#[test]
fn no_roots_at_all_is_a_configuration_error() {
    let err = Client::builder(1, "key").roots(Roots::None).build();
    assert!(
        matches!(err, Err(Error::Proto(proto::Error::Config(_)))),
        "{err:?}"
    );
}
