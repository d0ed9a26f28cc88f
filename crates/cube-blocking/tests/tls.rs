//! HTTPS with a self-signed certificate: trusted when its root is added,
//! refused when not.

use cube_blocking::{Client, Error};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// Serves `POST /session` over TLS with a fresh self-signed certificate for
/// `localhost`; returns the port and the certificate (DER).
fn tls_server() -> (u16, Vec<u8>) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = key.cert.der().to_vec();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(cert_der.clone())], private)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut length = 0;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return; // the client refused the certificate
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = r#"{"session":{"id":1,"user_id":0,"token":"tls-token"}}"#;
                let _ = write!(
                    tls,
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = tls.flush();
            });
        }
    });
    (port, cert_der)
}

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
