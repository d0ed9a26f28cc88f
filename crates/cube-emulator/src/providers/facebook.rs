//! Facebook: `GET {graph}/me?access_token=T&fields=id,name,email`; the
//! answer's `id` is the user's `facebook_id`.

use super::{Identity, id_text, profile_text};
use crate::error::ApiError;
use crate::settings::AppSettings;
use crate::state::State;
use crate::store::users::Key;
use crate::wire::encode_component;

pub(crate) async fn verify(
    state: &State,
    settings: &AppSettings,
    token: &str,
) -> Result<Identity, ApiError> {
    let graph = settings.facebook_graph_url(&state.base_url);
    let url = format!(
        "{}/me?access_token={}&fields=id,name,email",
        graph.trim_end_matches('/'),
        encode_component(token)
    );
    let answer = state.providers.http.get(&url, &[]).await.map_err(|err| {
        tracing::info!(?err, "facebook check failed");
        ApiError::unauthorized()
    })?;
    let json = answer.json_if_ok().ok_or_else(ApiError::unauthorized)?;
    let uid = id_text(&json["id"]).ok_or_else(ApiError::unauthorized)?;
    let mut profile = Vec::new();
    profile_text(&mut profile, "full_name", json.get("name"));
    profile_text(&mut profile, "email", json.get("email"));
    Ok(Identity {
        key: Key::FacebookId,
        uid,
        profile,
    })
}
