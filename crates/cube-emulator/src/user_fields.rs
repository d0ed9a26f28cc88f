//! The user fields a request may set (`docs/PROTOCOL.md`, "Users"), read
//! and validated: sign-up, update, the admin import of many users, and
//! the users of an imported data set all go through [`user_input`], so a
//! field has one rule wherever it comes from.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::limits::{
    CUSTOM_DATA_MAX_BYTES, FULL_NAME_MAX_CHARS, LOGIN_CHARS, PASSWORD_CHARS, TAGS_MAX, email_ok,
    external_user_id,
};
use crate::store::users::{Change, NewUser, UserPatch};
use crate::validation::FieldErrors;
use crate::wire::int_like;

/// Validated sign-up or update fields: a patch (for a sign-up, `Some(None)`
/// and `None` both mean "not given") and the passwords.
#[derive(Default)]
pub(crate) struct UserInput {
    pub(crate) patch: UserPatch,
    pub(crate) password: Option<String>,
    pub(crate) old_password: Option<String>,
}

impl UserInput {
    /// The user a sign-up creates (`password_hash` is filled in later).
    pub(crate) fn into_new_user(self) -> NewUser {
        let p = self.patch;
        NewUser {
            login: p.login,
            email: p.email.flatten(),
            password_hash: None,
            full_name: p.full_name.flatten(),
            phone: p.phone.flatten(),
            website: p.website.flatten(),
            external_user_id: p.external_user_id.flatten(),
            external_id: p.external_id.flatten(),
            facebook_id: p.facebook_id.flatten(),
            twitter_id: p.twitter_id.flatten(),
            blob_id: p.blob_id.flatten(),
            custom_data: p.custom_data.flatten(),
            avatar: p.avatar.flatten(),
            tags: p.tags.unwrap_or_default(),
            timezone: p.timezone.flatten(),
            guest_until: None,
            last_request_at: None,
        }
    }
}

/// Text accepted from a string or a number (ids often arrive as numbers).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn too_short(min: usize) -> String {
    format!("is too short (minimum is {min} characters)")
}

fn too_long(max: usize) -> String {
    format!("is too long (maximum is {max} characters)")
}

/// A text field: `null` clears it, a string sets it.
fn text_change(value: &Value) -> Option<Change<String>> {
    match value {
        Value::Null => Some(Some(None)),
        Value::String(s) => Some(Some(Some(s.clone()))),
        _ => None,
    }
}

/// Validates the user fields of a sign-up or update; unknown fields are
/// ignored, as the public service does.
pub(crate) fn user_input(fields: &Map<String, Value>) -> Result<UserInput, ApiError> {
    let mut input = UserInput::default();
    let mut errors = FieldErrors::default();
    let p = &mut input.patch;
    for (field, value) in fields {
        let field = field.as_str();
        match field {
            "login" => match value.as_str() {
                // A login cannot be cleared: `null` leaves it as it is.
                _ if value.is_null() => {}
                Some(s) if s.chars().count() < *LOGIN_CHARS.start() => {
                    errors.add(field, too_short(*LOGIN_CHARS.start()));
                }
                Some(s) if s.chars().count() > *LOGIN_CHARS.end() => {
                    errors.add(field, too_long(*LOGIN_CHARS.end()));
                }
                Some(s) => p.login = Some(s.to_owned()),
                None => errors.add(field, "is invalid"),
            },
            "password" => match value.as_str() {
                _ if value.is_null() => {}
                Some(s) if s.chars().count() < *PASSWORD_CHARS.start() => {
                    errors.add(field, too_short(*PASSWORD_CHARS.start()));
                }
                Some(s) if s.chars().count() > *PASSWORD_CHARS.end() => {
                    errors.add(field, too_long(*PASSWORD_CHARS.end()));
                }
                Some(s) => input.password = Some(s.to_owned()),
                None => errors.add(field, "is invalid"),
            },
            "old_password" => input.old_password = value.as_str().map(str::to_owned),
            "email" => match value {
                Value::Null => p.email = Some(None),
                Value::String(s) if email_ok(s) => p.email = Some(Some(s.clone())),
                _ => errors.add(field, "is invalid"),
            },
            "full_name" => match value.as_str() {
                Some(s) if s.chars().count() > FULL_NAME_MAX_CHARS => {
                    errors.add(field, too_long(FULL_NAME_MAX_CHARS));
                }
                _ => match text_change(value) {
                    Some(change) => p.full_name = change,
                    None => errors.add(field, "is invalid"),
                },
            },
            "phone" | "website" | "avatar" => match text_change(value) {
                Some(change) => match field {
                    "phone" => p.phone = change,
                    "website" => p.website = change,
                    _ => p.avatar = change,
                },
                None => errors.add(field, "is invalid"),
            },
            "external_user_id" => match value {
                Value::Null => p.external_user_id = Some(None),
                other => match external_user_id(other) {
                    Ok(n) => p.external_user_id = Some(Some(n)),
                    Err(why) => errors.add(field, why),
                },
            },
            "external_id" | "facebook_id" | "twitter_id" => {
                // An empty id means "none": it must not collide with others.
                let change = match value {
                    Value::Null => Some(None),
                    other => match text_of(other) {
                        Some(s) if s.is_empty() => Some(None),
                        Some(s) => Some(Some(s)),
                        None => {
                            errors.add(field, "is invalid");
                            continue;
                        }
                    },
                };
                match field {
                    "external_id" => p.external_id = change,
                    "facebook_id" => p.facebook_id = change,
                    _ => p.twitter_id = change,
                }
            }
            "custom_data" => {
                let text = match value {
                    Value::Null => {
                        p.custom_data = Some(None);
                        continue;
                    }
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if text.len() > CUSTOM_DATA_MAX_BYTES {
                    errors.add(
                        field,
                        format!("is too long (maximum is {CUSTOM_DATA_MAX_BYTES} bytes)"),
                    );
                } else {
                    p.custom_data = Some(Some(text));
                }
            }
            "timezone" | "blob_id" => {
                let change = match value {
                    Value::Null => Some(None),
                    other => match int_like(other) {
                        Some(n) => Some(Some(n)),
                        None => {
                            errors.add(field, "is not a number");
                            continue;
                        }
                    },
                };
                if field == "timezone" {
                    p.timezone = change;
                } else {
                    p.blob_id = change;
                }
            }
            "tag_list" | "user_tags" => match value {
                Value::Null => p.tags = Some(Vec::new()),
                other => match tags_of(other) {
                    Some(tags) if tags.len() > TAGS_MAX => {
                        errors.add(
                            "tag_list",
                            format!("is too long (maximum is {TAGS_MAX} tags)"),
                        );
                    }
                    Some(tags) => p.tags = Some(tags),
                    None => errors.add("tag_list", "is invalid"),
                },
            },
            _ => {}
        }
    }
    errors.into_result()?;
    Ok(input)
}

/// Tags from `"a, b"` or `["a", "b"]`: trimmed, empty ones dropped, no
/// duplicates, order kept.
pub(crate) fn tags_of(value: &Value) -> Option<Vec<String>> {
    let raw: Vec<String> = match value {
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim();
        if !tag.is_empty() && !tag.contains(',') && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_normalise() {
        assert_eq!(tags_of(&json!(" a,b ,,a")).unwrap(), vec!["a", "b"]);
        assert_eq!(tags_of(&json!(["x", "y"])).unwrap(), vec!["x", "y"]);
        assert!(tags_of(&json!(3)).is_none());
    }

    #[test]
    fn validation_collects_field_errors() {
        let err = user_input(
            json!({"login": "ab", "email": "bad", "password": "short", "tag_list": "1,2,3,4,5,6"})
                .as_object()
                .unwrap(),
        )
        .err()
        .unwrap();
        assert_eq!(err.errors.len(), 4);
        assert_eq!(
            err.errors["login"],
            vec!["is too short (minimum is 3 characters)"]
        );
        assert_eq!(
            err.errors["tag_list"],
            vec!["is too long (maximum is 5 tags)"]
        );
    }
}
