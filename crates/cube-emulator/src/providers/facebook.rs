//! Facebook: `GET {graph}/me?access_token=T&fields=id,name,email`; the
//! answer's `id` is the user's `facebook_id`.

use super::outbound::Outbound;
use super::{Verified, id_text, profile_name, profile_text};
use crate::error::ApiError;
use crate::wire::encode_component;

/// Asks the Graph API at `graph` who `token` belongs to.
pub(crate) async fn verify(
    http: &Outbound,
    graph: &str,
    token: &str,
) -> Result<Verified, ApiError> {
    let url = format!(
        "{}/me?access_token={}&fields=id,name,email",
        graph.trim_end_matches('/'),
        encode_component(token)
    );
    let answer = http.get(&url, &[]).await.map_err(|err| {
        tracing::info!(?err, "facebook check failed");
        ApiError::unauthorized()
    })?;
    let json = answer.json_if_ok().ok_or_else(ApiError::unauthorized)?;
    let uid = id_text(&json["id"]).ok_or_else(ApiError::unauthorized)?;
    Ok(Verified {
        uid,
        full_name: profile_name(json.get("name")),
        email: profile_text(json.get("email")),
        phone: None,
    })
}
