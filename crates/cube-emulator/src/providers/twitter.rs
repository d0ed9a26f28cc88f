//! Twitter: an OAuth 1.0a (HMAC-SHA1) signed `GET
//! {api}/1.1/account/verify_credentials.json` with the application's
//! consumer key/secret and the user's token/secret; the answer's `id_str`
//! is the user's `twitter_id`. The signing code here is also what the fake
//! Twitter API uses to check the signature.

use super::outbound::Outbound;
use super::{Verified, profile_name};
use crate::crypto::{hex, hmac_sha1, random_bytes};
use crate::error::ApiError;
use crate::wire::encode_component;

/// The path of the credentials check below the API URL.
pub(crate) const VERIFY_PATH: &str = "/1.1/account/verify_credentials.json";

/// The OAuth 1.0a signature (RFC 5849 section 3.4): base64 of HMAC-SHA1
/// over `METHOD&url&params`, keyed with `consumer_secret&token_secret`.
/// `params` are the decoded query and `oauth_*` parameters, without
/// `oauth_signature`.
pub(crate) fn signature(
    method: &str,
    base_url: &str,
    params: &[(String, String)],
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (encode_component(k), encode_component(v)))
        .collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode_component(&normalize_url(base_url)),
        encode_component(&normalized)
    );
    let key = format!(
        "{}&{}",
        encode_component(consumer_secret),
        encode_component(token_secret)
    );
    crate::b64::encode(&hmac_sha1(&key, &base))
}

/// The base string URI of RFC 5849 section 3.4.1.2: scheme and host in
/// lower case, the default port left out, no query.
pub(crate) fn normalize_url(url: &str) -> String {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return url.to_owned();
    };
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let port = match (scheme.as_str(), uri.port_u16()) {
        (_, None) | ("http", Some(80)) | ("https", Some(443)) => String::new(),
        (_, Some(port)) => format!(":{port}"),
    };
    format!("{scheme}://{host}{port}{}", uri.path())
}

/// The parameters of an `Authorization: OAuth k="v", ...` header, decoded.
pub(crate) fn parse_authorization(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("OAuth")?;
    let mut out = Vec::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=')?;
        let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
        out.push((
            crate::wire::decode_component(k.trim(), false)?,
            crate::wire::decode_component(v, false)?,
        ));
    }
    Some(out)
}

/// The application's Twitter API credentials.
pub(crate) struct Consumer<'a> {
    pub(crate) key: &'a str,
    pub(crate) secret: &'a str,
}

/// Asks the Twitter API at `api` whom the token pair belongs to.
pub(crate) async fn verify(
    http: &Outbound,
    api: &str,
    consumer: &Consumer<'_>,
    token: &str,
    secret: &str,
    now: i64,
) -> Result<Verified, ApiError> {
    let base_url = format!("{}{VERIFY_PATH}", api.trim_end_matches('/'));
    let query = vec![("skip_status".to_owned(), "true".to_owned())];
    let mut oauth = vec![
        ("oauth_consumer_key".to_owned(), consumer.key.to_owned()),
        ("oauth_nonce".to_owned(), hex(&random_bytes::<16>()?)),
        ("oauth_signature_method".to_owned(), "HMAC-SHA1".to_owned()),
        ("oauth_timestamp".to_owned(), now.to_string()),
        ("oauth_token".to_owned(), token.to_owned()),
        ("oauth_version".to_owned(), "1.0".to_owned()),
    ];
    let mut signed = query.clone();
    signed.extend(oauth.iter().cloned());
    let signature = signature("GET", &base_url, &signed, consumer.secret, secret);
    oauth.push(("oauth_signature".to_owned(), signature));
    let header = format!(
        "OAuth {}",
        oauth
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", encode_component(k), encode_component(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let url = format!("{base_url}?skip_status=true");
    let answer = http
        .get(&url, &[("authorization", header)])
        .await
        .map_err(|err| {
            tracing::info!(?err, "twitter check failed");
            ApiError::unauthorized()
        })?;
    let json = answer.json_if_ok().ok_or_else(ApiError::unauthorized)?;
    let uid = json["id_str"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(ApiError::unauthorized)?
        .to_owned();
    Ok(Verified {
        uid,
        full_name: profile_name(json.get("name")),
        ..Verified::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5849_example_signature() {
        // RFC 5849 section 1.2 (the photos example, HMAC-SHA1).
        let params: Vec<(String, String)> = [
            ("file", "vacation.jpg"),
            ("size", "original"),
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1191242096"),
            ("oauth_nonce", "kllo9940pd9333jh"),
            ("oauth_version", "1.0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            signature(
                "GET",
                "http://photos.example.net/photos",
                &params,
                "kd94hf93k423kf44",
                "pfkkdhi9sl3r4s00"
            ),
            "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
        );
        let header = r#"OAuth oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D""#;
        let parsed = parse_authorization(header).unwrap();
        assert_eq!(parsed[1].1, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
        assert!(parse_authorization("Bearer x").is_none());
        assert_eq!(
            normalize_url("HTTP://Example.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            normalize_url("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
    }
}
