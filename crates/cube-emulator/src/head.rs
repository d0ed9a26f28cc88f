//! The checks a request head passes before anything reads it: one `Host`
//! that names a host (RFC 9112, section 3.2) and one line of each header
//! the emulator reads as a single value. A request that fails one is
//! `400`: which of two `Host` lines the admin gate trusts, or which of two
//! tokens a handler sees, must never depend on the order the lines came
//! in. The body's length is hyper's: it refuses two different
//! `Content-Length`s, and of a length and chunks it reads the chunks and
//! then closes the connection (section 6.3), so nothing can be smuggled
//! after them.

use http::header::HOST;
use http::request::Parts;
use http::uri::Authority;
use http::{HeaderMap, Version};

use crate::error::ApiError;

/// Headers read as one value (`HeaderMap::get` takes the first line).
const SINGLE: [&str; 6] = [
    "host",
    "content-type",
    "authorization",
    "origin",
    "cb-token",
    "cb-authkey",
];

/// `Ok` when the head of `parts` is well-formed in the ways above.
pub(crate) fn check(parts: &Parts) -> Result<(), ApiError> {
    let headers = &parts.headers;
    for name in SINGLE {
        if repeated(headers, name) {
            return Err(twice(name));
        }
    }
    match headers.get(HOST) {
        Some(host) if !names_a_host(host.as_bytes()) => {
            return Err(ApiError::bad_request(
                "The Host header does not name a host",
            ));
        }
        // HTTP/1.0 predates `Host`; HTTP/1.1 requires it.
        None if parts.version >= Version::HTTP_11 => {
            return Err(ApiError::bad_request("The request has no Host header"));
        }
        _ => {}
    }
    Ok(())
}

fn repeated(headers: &HeaderMap, name: &str) -> bool {
    headers.get_all(name).iter().nth(1).is_some()
}

fn twice(name: &str) -> ApiError {
    ApiError::bad_request(format!("The request has more than one {name} header"))
}

/// `host[:port]`: no user information, a port of digits.
fn names_a_host(value: &[u8]) -> bool {
    if value.contains(&b'@') {
        return false;
    }
    let Ok(authority) = Authority::try_from(value) else {
        return false;
    };
    match &authority.as_str()[authority.host().len()..] {
        "" => true,
        rest => rest.strip_prefix(':').is_some_and(|port| {
            port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: Version, lines: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().uri("/users").version(version);
        for (name, value) in lines {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn one_host_that_names_a_host() {
        let v11 = Version::HTTP_11;
        for host in [
            "localhost",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:1",
            "example.com:65535",
        ] {
            assert!(check(&head(v11, &[("host", host)])).is_ok(), "{host}");
        }
        for host in [
            "",
            "a b",
            "user@localhost",
            "localhost:port",
            "localhost:99999",
            "localhost:",
            "/path",
        ] {
            assert!(check(&head(v11, &[("host", host)])).is_err(), "{host:?}");
        }
        assert!(check(&head(v11, &[])).is_err());
        assert!(check(&head(Version::HTTP_10, &[])).is_ok());
        let twice = head(v11, &[("host", "localhost"), ("host", "localhost")]);
        let err = check(&twice).unwrap_err();
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
        assert_eq!(
            err.errors["base"],
            ["The request has more than one host header"]
        );
    }

    #[test]
    fn single_headers_once_and_lists_as_often_as_they_come() {
        let host = ("host", "localhost");
        for name in [
            "cb-token",
            "CB-AuthKey",
            "content-type",
            "authorization",
            "origin",
        ] {
            assert!(check(&head(Version::HTTP_11, &[host, (name, "a")])).is_ok());
            assert!(
                check(&head(Version::HTTP_11, &[host, (name, "a"), (name, "a")])).is_err(),
                "{name}"
            );
        }
        let lists = [host, ("accept", "a/b"), ("accept", "c/d")];
        assert!(check(&head(Version::HTTP_11, &lists)).is_ok());
    }
}
