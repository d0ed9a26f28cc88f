//! HTTPS with a self-signed certificate: trusted when its root is added,
//! refused when not.

use cube_async::{Client, Error, Roots, proto};
use cube_test_support::fake::tls_server;

#[tokio::test]
async fn trusts_a_self_signed_server_once_its_root_is_added() {
    let (port, cert) = tls_server();
    let client = Client::builder(1, "key")
        .base_url(format!("https://localhost:{port}"))
        .add_root_certificate(cert)
        .build()
        .unwrap();
    let info = client.create_application_session().await.unwrap();
    assert_eq!(info.token.unwrap().expose(), "tls-token");
}

#[tokio::test]
async fn refuses_a_self_signed_server_by_default_and_with_platform_roots() {
    let (port, _) = tls_server();
    for roots in [Roots::WebPki, Roots::Platform] {
        let Ok(client) = Client::builder(1, "key")
            .base_url(format!("https://localhost:{port}"))
            .roots(roots)
            .build()
        else {
            continue; // a machine with no system trust store
        };
        let err = client.create_application_session().await.unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err}");
        let chain = format!("{:?}", std::error::Error::source(&err));
        assert!(chain.to_lowercase().contains("certificate"), "{chain}");
    }
}

#[test]
fn an_unusable_root_is_a_configuration_error() {
    let err = Client::builder(1, "key")
        .roots(Roots::None)
        .add_root_certificate(b"not a certificate".to_vec())
        .build();
    assert!(
        matches!(err, Err(Error::Proto(proto::Error::Config(_)))),
        "{err:?}"
    );
    let err = Client::builder(1, "key").roots(Roots::None).build();
    assert!(
        matches!(err, Err(Error::Proto(proto::Error::Config(_)))),
        "{err:?}"
    );
}
