//! The user object (`docs/PROTOCOL.md`, "Users").

use super::de;
use serde::Deserialize;
use time::OffsetDateTime;

/// A ConnectyCube user as the server describes it.
///
/// Every field but `id` may be missing or null; ids may come as numbers or
/// strings, tags as a comma-separated string. Unknown fields are ignored.
///
/// ```
/// let u: cube_proto::User = serde_json::from_str(
///     r#"{"id": "51941", "login": "Dacia", "user_tags": "vip,accountant", "website": null}"#,
/// )?;
/// assert_eq!(u.id, 51941);
/// assert_eq!(u.user_tags, ["vip", "accountant"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    #[serde(deserialize_with = "de::u64_any")]
    pub id: u64,
    /// Unique, case-sensitive login.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub login: Option<String>,
    /// Unique e-mail, matched case-insensitively.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
    /// Display name.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub full_name: Option<String>,
    /// Phone number.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub phone: Option<String>,
    /// Web site.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub website: Option<String>,
    /// When the user was created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<OffsetDateTime>,
    /// When the user was last changed.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<OffsetDateTime>,
    /// When the user last made a request.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub last_request_at: Option<OffsetDateTime>,
    /// Deprecated external id, independent of `external_id`: a number in the
    /// service's documents, read from a number or a digit string (any other
    /// value reads as `None`, as for [`blob_id`](Self::blob_id)).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub external_user_id: Option<u64>,
    /// The external id, filled by identity providers.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub external_id: Option<String>,
    /// Facebook user id.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub facebook_id: Option<String>,
    /// Twitter user id.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub twitter_id: Option<String>,
    /// Id of a blob linked to the user.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub blob_id: Option<u64>,
    /// Free-form application data.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub custom_data: Option<String>,
    /// The avatar: a blob uid (or a URL set by other clients).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub avatar: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "de::tags")]
    pub user_tags: Vec<String>,
    /// Time zone offset, in minutes.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub timezone: Option<i64>,
    /// Whether this is a guest user.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_guest: Option<bool>,
}

impl User {
    /// A user with only an id: a starting point for tests and fixtures.
    pub fn with_id(id: u64) -> Self {
        Self {
            id,
            login: None,
            email: None,
            full_name: None,
            phone: None,
            website: None,
            created_at: None,
            updated_at: None,
            last_request_at: None,
            external_user_id: None,
            external_id: None,
            facebook_id: None,
            twitter_id: None,
            blob_id: None,
            custom_data: None,
            avatar: None,
            user_tags: Vec::new(),
            timezone: None,
            is_guest: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let u: User = serde_json::from_str(
            r#"{"id": 51941, "login": "Dacia", "email": "dacia_k@domain.com",
                "full_name": "Dacia Kail", "phone": "+6110797757", "website": null,
                "created_at": "2018-12-06T09:16:26Z", "updated_at": "2018-12-06T09:16:26Z",
                "last_request_at": null, "external_user_id": 777, "external_id": null,
                "facebook_id": "91234409", "twitter_id": null, "blob_id": null,
                "custom_data": null, "avatar": null, "user_tags": "vip,accountant",
                "timezone": 180, "is_guest": false, "something_new": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(u.id, 51941);
        assert_eq!(u.phone.as_deref(), Some("+6110797757"));
        assert_eq!(u.external_user_id, Some(777));
        assert_eq!(u.created_at.unwrap().unix_timestamp(), 1544087786);
        assert_eq!(u.user_tags, ["vip", "accountant"]);
        assert_eq!(u.timezone, Some(180));
        assert_eq!(u.is_guest, Some(false));
    }

    #[test]
    fn external_user_id_is_a_number_or_a_digit_string() {
        for (json, expected) in [
            (r#"{"id": 1, "external_user_id": 777}"#, Some(777)),
            (r#"{"id": 1, "external_user_id": "777"}"#, Some(777)),
            (
                r#"{"id": 1, "external_user_id": " 18446744073709551615 "}"#,
                Some(u64::MAX),
            ),
            (r#"{"id": 1, "external_user_id": null}"#, None),
            (r#"{"id": 1}"#, None),
            (r#"{"id": 1, "external_user_id": "ext-778"}"#, None),
            (r#"{"id": 1, "external_user_id": -5}"#, None),
            (r#"{"id": 1, "external_user_id": 1.5}"#, None),
            (
                r#"{"id": 1, "external_user_id": "18446744073709551616"}"#,
                None,
            ),
        ] {
            let u: User = serde_json::from_str(json).unwrap();
            assert_eq!(u.external_user_id, expected, "{json}");
        }
    }

    #[test]
    fn only_id_is_required() {
        let u: User = serde_json::from_str(r#"{"id": 3}"#).unwrap();
        assert_eq!(u, User::with_id(3));
        assert!(serde_json::from_str::<User>(r#"{"login": "x"}"#).is_err());
        assert!(serde_json::from_str::<User>(r#"{"id": "abc"}"#).is_err());
    }
}
