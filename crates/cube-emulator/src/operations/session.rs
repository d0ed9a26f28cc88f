//! `POST/GET/DELETE /session`, `DELETE /session/{id}`, `DELETE
//! /session/list`, `POST/DELETE /login` (`docs/PROTOCOL.md`, "Sessions").

use serde_json::{Map, Value, json};

use super::{Ctx, Expiry, Outcome, Reply, render};
use crate::clock::format_iso;
use crate::crypto::{self, constant_time_eq, hash_token, signature_matches};
use crate::error::{ApiError, ensure};
use crate::limits::{FULL_NAME_MAX_CHARS, GUEST_TTL, SESSION_TTL, email_ok, login_ok, password_ok};
use crate::providers::{ProviderLogin, Verified, cidp, facebook, firebase, twitter};
use crate::state::State;
use crate::store::apps::{self, App};
use crate::store::links::{self, Identity, Provider};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::{self, Key, NewUser, User};
use crate::wire::{flag, int_like, signature_base, uint_like};

/// What kind of session a request asks for.
pub(crate) enum Credentials {
    Application,
    Password {
        key: Key,
        value: String,
        password: String,
    },
    Guest {
        full_name: Option<String>,
    },
    Provider(ProviderLogin),
}

/// Who the new session belongs to, once credentials have been checked.
enum Plan {
    Application,
    Guest(Option<String>),
    Existing(i64),
    /// Auto sign-up: the user to create.
    SignUp(Box<NewUser>),
    /// A verified provider identity: its user, created on first sign-in.
    Linked(Identity),
}

/// Reads the credentials of a session kind from `user` (create) or the
/// top level (sign-in); provider fields are always at the top level.
pub(crate) fn credentials(
    params: Option<&Map<String, Value>>,
    top: &Map<String, Value>,
) -> Result<Credentials, ApiError> {
    if let Some(provider) = top.get("provider").filter(|p| !p.is_null()) {
        return provider_credentials(provider, top).map(Credentials::Provider);
    }
    let Some(params) = params else {
        return Ok(Credentials::Application);
    };
    let guest = match params.get("guest") {
        None | Some(Value::Null) => false,
        Some(value) => {
            flag(value).ok_or_else(|| ApiError::invalid_field("guest", "is not a boolean"))?
        }
    };
    if guest {
        let full_name = params
            .get("full_name")
            .and_then(Value::as_str)
            .map(|name| name.chars().take(FULL_NAME_MAX_CHARS).collect());
        return Ok(Credentials::Guest { full_name });
    }
    // Credentials are never length-validated; a login or e-mail without
    // a password is the one validation error (`password` "cannot be blank").
    let text = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (key, value) = match (text("login"), text("email")) {
        (Some(login), _) => (Key::Login, login),
        (None, Some(email)) => (Key::Email, email),
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let password = match params.get("password") {
        None | Some(Value::Null) => return Err(ApiError::blank_password()),
        Some(Value::String(p)) if p.is_empty() => return Err(ApiError::blank_password()),
        Some(Value::String(p)) => p.clone(),
        Some(_) => return Err(ApiError::invalid_field("password", "is invalid")),
    };
    Ok(Credentials::Password {
        key,
        value,
        password,
    })
}

/// The provider sign-in a body asks for. Unusable keys are simply `401`
/// (like any credential); an unknown provider is `422`.
fn provider_credentials(
    provider: &Value,
    top: &Map<String, Value>,
) -> Result<ProviderLogin, ApiError> {
    let name = provider.as_str().unwrap_or_default();
    let text = |object: &str, key: &str| {
        top.get(object)
            .and_then(|o| o.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(ApiError::unauthorized)
    };
    match name {
        "facebook" => Ok(ProviderLogin::Facebook {
            token: text("keys", "token")?,
        }),
        "twitter" => Ok(ProviderLogin::Twitter {
            token: text("keys", "token")?,
            secret: text("keys", "secret")?,
        }),
        "firebase_phone" | "firebase_email" => Ok(ProviderLogin::Firebase {
            phone: name == "firebase_phone",
            project_id: text(name, "project_id")?,
            id_token: text(name, "access_token")?,
        }),
        _ => Err(ApiError::invalid_field(
            "provider",
            format!("{name} is not supported"),
        )),
    }
}

/// Verifies provider credentials, or a login the application's custom
/// identity provider handles; `None` for a login + password checked here.
async fn verified_identity(
    ctx: &Ctx,
    app: &App,
    creds: &Credentials,
) -> Result<Option<Identity>, ApiError> {
    let providers = &ctx.state.providers;
    let http = &providers.http;
    let settings = &app.settings;
    let base_url = &ctx.state.base_url;
    let (provider, verified) = match creds {
        Credentials::Provider(ProviderLogin::Facebook { token }) => {
            let graph = settings.facebook_graph_url(base_url);
            (
                Provider::Facebook,
                facebook::verify(http, &graph, token).await?,
            )
        }
        Credentials::Provider(ProviderLogin::Twitter { token, secret }) => {
            let api = settings.twitter_api_url(base_url);
            let consumer = twitter::Consumer {
                key: &settings.twitter_consumer_key,
                secret: &settings.twitter_consumer_secret,
            };
            let verified = twitter::verify(http, &api, &consumer, token, secret, ctx.now).await?;
            (Provider::Twitter, verified)
        }
        Credentials::Provider(ProviderLogin::Firebase {
            phone,
            project_id,
            id_token,
        }) => {
            let verified = firebase::verify(
                providers, app.id, settings, *phone, project_id, id_token, ctx.now,
            )
            .await?;
            (Provider::Firebase, verified)
        }
        // With a custom identity provider, every login + password goes to
        // it (e-mail + password stays local) and the password is unused.
        Credentials::Password {
            key: Key::Login,
            value,
            ..
        } if !settings.cidp.is_null() => (
            Provider::Cidp,
            cidp::verify(http, &settings.cidp, value).await?,
        ),
        _ => return Ok(None),
    };
    Ok(Some(identity(provider, verified)))
}

/// The identity to sign in as; a profile e-mail that is not well formed
/// is left out of a new user.
fn identity(provider: Provider, verified: Verified) -> Identity {
    Identity {
        provider,
        uid: verified.uid,
        full_name: verified.full_name,
        email: verified.email.filter(|e| email_ok(e)),
        phone: verified.phone,
    }
}

/// The user named by `key`/`value` if `password` is theirs, `None` when
/// nobody has that name. A wrong password and a user without one (made by
/// a provider sign-in) are both `401 Invalid password`, and both cost one
/// password hash (a decoy's for the second), so response times do not
/// tell which accounts have a password. Nobody costs no hash: the answer
/// (`404 User not found`, or the user created) says so anyway, as the
/// public service's does.
async fn check_password(
    state: &State,
    app_id: i64,
    now: i64,
    (key, value): (Key, &str),
    password: &str,
) -> Result<Option<i64>, ApiError> {
    let found = state
        .store
        .read(|db| users::find(db, app_id, now, key, value))?
        .map(|u| (u.id, u.password_hash));
    match found {
        Some((id, Some(hash))) => {
            if state.passwords.verify(password.to_owned(), hash).await {
                Ok(Some(id))
            } else {
                Err(ApiError::invalid_password())
            }
        }
        Some((_, None)) => {
            state.passwords.verify_decoy(password.to_owned()).await;
            Err(ApiError::invalid_password())
        }
        None => Ok(None),
    }
}

/// Checks the signed form; returns the nonce to record. Unsigned requests
/// pass unless the application requires signatures.
fn check_signature(
    app: &App,
    body: &Map<String, Value>,
    now: i64,
) -> Result<Option<String>, ApiError> {
    let Some(signature) = body.get("signature").filter(|s| !s.is_null()) else {
        ensure(!app.settings.require_signature, ApiError::bad_signature)?;
        return Ok(None);
    };
    let signature = signature.as_str().ok_or_else(ApiError::bad_signature)?;
    let timestamp = body
        .get("timestamp")
        .and_then(int_like)
        .ok_or_else(|| ApiError::invalid_field("timestamp", "can't be blank"))?;
    let nonce = body
        .get("nonce")
        .and_then(uint_like)
        .ok_or_else(|| ApiError::invalid_field("nonce", "can't be blank"))?;
    let base = signature_base(body)
        .ok_or_else(|| ApiError::bad_request("The signed parameters are too long"))?;
    ensure(
        signature_matches(app.auth_secret.expose(), &base, signature),
        ApiError::bad_signature,
    )?;
    let window = app.settings.signature_window_seconds;
    ensure(
        now.abs_diff(timestamp) <= window.unsigned_abs(),
        ApiError::invalid_timestamp,
    )?;
    Ok(Some(nonce.to_string()))
}

/// `POST /session`.
pub(crate) async fn create(ctx: &Ctx) -> Outcome {
    let body = ctx.body()?;
    let app_id = body
        .get("application_id")
        .and_then(int_like)
        .ok_or_else(|| ApiError::invalid_field("application_id", "is invalid"))?;
    let auth_key = body
        .get("auth_key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_field("auth_key", "is invalid"))?;
    let app = ctx
        .state
        .apps
        .get(app_id)
        .filter(|a| constant_time_eq(a.auth_key.as_bytes(), auth_key.as_bytes()))
        .ok_or_else(ApiError::unauthorized)?;
    let nonce_to_use = check_signature(&app, body, ctx.now)?;
    let user = match body.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::Object(user)) => Some(user),
        // A `user` that is not an object names no one.
        Some(_) => return Err(ApiError::unauthorized()),
    };
    let creds = credentials(user, body)?;
    let nonce = body.get("nonce").and_then(uint_like).map(|n| n.to_string());
    let ts = body.get("timestamp").and_then(int_like);

    // A concurrent auto sign-up of the same user may win the race; then
    // the second attempt finds the user and checks the password instead.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let plan = plan(ctx, &app, &creds).await?;
        let signing_up = matches!(plan, Plan::SignUp(_));
        let session = NewSession {
            app_id,
            window: app.settings.signature_window_seconds,
            nonce_to_use: nonce_to_use.clone(),
            nonce: nonce.clone(),
            ts,
            now: ctx.now,
        };
        match start_session(&ctx.state, session, plan).await {
            Err(err)
                if signing_up
                    && attempts < 2
                    && err.status == http::StatusCode::UNPROCESSABLE_ENTITY
                    && (err.errors.contains_key("login") || err.errors.contains_key("email")) =>
            {
                continue;
            }
            Err(err) => return Err(err),
            Ok((token, row, user)) => {
                let body = json!({ "session": session_json(&row, &token, user.as_ref()) });
                return Ok(Reply::created(body).with_expiry(Expiry::At(row.deadline)));
            }
        }
    }
}

async fn plan(ctx: &Ctx, app: &App, creds: &Credentials) -> Result<Plan, ApiError> {
    if let Some(identity) = verified_identity(ctx, app, creds).await? {
        return Ok(Plan::Linked(identity));
    }
    Ok(match creds {
        // Handled above.
        Credentials::Provider(_) => return Err(ApiError::unauthorized()),
        Credentials::Application => Plan::Application,
        Credentials::Guest { full_name } => Plan::Guest(full_name.clone()),
        Credentials::Password {
            key,
            value,
            password,
        } => {
            if let Some(id) =
                check_password(&ctx.state, app.id, ctx.now, (*key, value), password).await?
            {
                return Ok(Plan::Existing(id));
            }
            // Nobody by that name: created when the application allows it
            // and the values would pass sign-up; otherwise nobody is found
            // (credentials are never a validation error).
            let usable = match key {
                Key::Email => email_ok(value),
                _ => login_ok(value),
            } && password_ok(password);
            ensure(
                app.settings.session_without_user && usable,
                ApiError::user_not_found,
            )?;
            let hash = ctx.state.passwords.hash(password.clone()).await?;
            let mut user = NewUser {
                password_hash: Some(hash),
                ..NewUser::default()
            };
            if *key == Key::Email {
                user.email = Some(value.clone());
            } else {
                user.login = Some(value.clone());
            }
            Plan::SignUp(Box::new(user))
        }
    })
}

struct NewSession {
    app_id: i64,
    window: i64,
    nonce_to_use: Option<String>,
    nonce: Option<String>,
    ts: Option<i64>,
    now: i64,
}

/// Writes the nonce, the user (guest or auto sign-up) and the session in
/// one transaction: if any part fails, none of it happened.
async fn start_session(
    state: &State,
    new: NewSession,
    plan: Plan,
) -> Result<(String, SessionRow, Option<User>), ApiError> {
    let token = crypto::new_token()?;
    let hash = hash_token(&token);
    let (row, user) = state
        .store
        .write_checked(move |db| {
            let now = new.now;
            if let Some(nonce) = &new.nonce_to_use {
                ensure(
                    apps::use_nonce(
                        db,
                        new.app_id,
                        nonce,
                        now,
                        new.ts.unwrap_or(now),
                        new.window,
                    )?,
                    || ApiError::invalid_field("nonce", "has already been used"),
                )?;
            }
            let (user_id, is_guest) = match plan {
                Plan::Application => (None, false),
                Plan::Existing(id) => (Some(id), false),
                Plan::SignUp(user) => (Some(users::insert(db, new.app_id, now, &user)?), false),
                Plan::Linked(identity) => {
                    (Some(links::sign_in(db, new.app_id, now, &identity)?), false)
                }
                Plan::Guest(full_name) => {
                    let guest = NewUser {
                        full_name: Some(full_name.unwrap_or_else(|| "Guest".into())),
                        guest_until: Some(now + GUEST_TTL),
                        last_request_at: Some(now),
                        ..NewUser::default()
                    };
                    (Some(users::insert(db, new.app_id, now, &guest)?), true)
                }
            };
            let user = match user_id {
                Some(id) => Some(
                    users::find_by_id(db, new.app_id, now, id)?
                        .ok_or_else(ApiError::unauthorized)?,
                ),
                None => None,
            };
            let mut row = SessionRow {
                id: 0,
                app_id: new.app_id,
                user_id,
                is_guest,
                nonce: new.nonce,
                ts: new.ts,
                created_at: now,
                updated_at: now,
                deadline: now + if is_guest { GUEST_TTL } else { SESSION_TTL },
            };
            sessions::insert(db, &hash, &mut row)?;
            Ok::<_, ApiError>((row, user))
        })
        .await?;
    state.sessions.remember(&token, row.clone(), new.now);
    let user = user.map(|u| {
        state.users.seen(u.id, new.now);
        state.users.fresh(u)
    });
    Ok((token, row, user))
}

fn session_json(row: &SessionRow, token: &str, user: Option<&User>) -> Value {
    let nonce = row
        .nonce
        .as_deref()
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(Value::Null, Value::from);
    json!({
        "id": row.id,
        "user_id": row.user_id.unwrap_or(0),
        "application_id": row.app_id,
        "token": token,
        "nonce": nonce,
        "ts": row.ts,
        "created_at": format_iso(row.created_at),
        "updated_at": format_iso(row.updated_at),
        "user": user.map(render::user),
    })
}

/// `GET /session`.
pub(crate) async fn show(ctx: &Ctx) -> Outcome {
    let row = ctx.session()?;
    let user = match row.user_id {
        Some(id) => ctx.state.users.by_id(row.app_id, ctx.now, id)?,
        None => None,
    };
    let token = ctx.caller.token.as_deref().unwrap_or_default();
    Ok(Reply::ok(
        json!({ "session": session_json(row, token, user.as_ref()) }),
    ))
}

/// `DELETE /session`: the token dies; a guest's user goes with it.
pub(crate) async fn destroy(ctx: &Ctx) -> Outcome {
    let row = ctx.session()?.clone();
    ctx.state
        .sessions
        .ending(move |db| {
            let mut hashes = sessions::delete(db, row.id)?;
            if let (true, Some(user_id)) = (row.is_guest, row.user_id) {
                hashes.extend(sessions::delete_all_of_user(db, user_id, None)?);
                users::delete(db, user_id)?;
            }
            Ok(hashes)
        })
        .await?;
    Ok(Reply::empty().with_expiry(Expiry::Ended))
}

/// `DELETE /session/{id}`: another session of the same user.
pub(crate) async fn destroy_one(ctx: &Ctx, id: &str) -> Outcome {
    let user_id = ctx.user_id()?;
    let own = ctx.session()?.id;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let hashes = ctx
        .state
        .sessions
        .ending(move |db| sessions::delete_of_user(db, id, user_id))
        .await?;
    ensure(!hashes.is_empty(), ApiError::not_found)?;
    let expiry = if id == own {
        Expiry::Ended
    } else {
        Expiry::FromRequest
    };
    Ok(Reply::empty().with_expiry(expiry))
}

/// `DELETE /session/list`: every session of the user but this one.
pub(crate) async fn destroy_others(ctx: &Ctx) -> Outcome {
    let user_id = ctx.user_id()?;
    let own = ctx.session()?.id;
    ctx.state
        .sessions
        .ending(move |db| sessions::delete_all_of_user(db, user_id, Some(own)))
        .await?;
    Ok(Reply::empty())
}

/// `POST /login`: sign a user into this session, keeping its token.
pub(crate) async fn login(ctx: &Ctx) -> Outcome {
    let row = ctx.session()?.clone();
    let body = ctx.body()?;
    let creds = credentials(Some(body), body)?;
    let app = ctx
        .state
        .apps
        .get(row.app_id)
        .ok_or_else(ApiError::no_session)?;
    let user_id = match verified_identity(ctx, &app, &creds).await? {
        Some(identity) => {
            let (app_id, now) = (row.app_id, ctx.now);
            ctx.state
                .store
                .write(move |db| links::sign_in(db, app_id, now, &identity))
                .await?
        }
        None => {
            let Credentials::Password {
                key,
                value,
                password,
            } = creds
            else {
                // Only credential kinds sign in; an empty body or a guest is not one.
                return Err(ApiError::unauthorized());
            };
            // No auto sign-up here: an unknown user is `404`.
            check_password(&ctx.state, row.app_id, ctx.now, (key, &value), &password)
                .await?
                .ok_or_else(ApiError::user_not_found)?
        }
    };
    let (row, user) = switch_user(ctx, row, Some(user_id)).await?;
    let user = user.ok_or_else(ApiError::unauthorized)?;
    ctx.state.users.seen(user_id, ctx.now);
    let user = ctx.state.users.fresh(user);
    Ok(Reply::ok_text(render::wrapped_user(&user)).with_expiry(Expiry::At(row.deadline)))
}

/// `DELETE /login`: back to an application session, same token.
pub(crate) async fn logout(ctx: &Ctx) -> Outcome {
    let row = ctx.session()?.clone();
    let (row, _) = switch_user(ctx, row, None).await?;
    Ok(Reply::empty().with_expiry(Expiry::At(row.deadline)))
}

/// Points the session at `user_id` (or none) and reads that user, in one
/// transaction: if the user vanished meanwhile, nothing changes.
async fn switch_user(
    ctx: &Ctx,
    mut row: SessionRow,
    user_id: Option<i64>,
) -> Result<(SessionRow, Option<User>), ApiError> {
    let now = ctx.now;
    let deadline = now + SESSION_TTL;
    let (id, app_id) = (row.id, row.app_id);
    let user = ctx
        .state
        .store
        .write_checked(move |db| {
            let exists = sessions::set_user(db, id, user_id, now, deadline)?;
            ensure(exists, ApiError::no_session)?;
            match user_id {
                Some(uid) => Ok(Some(
                    users::find_by_id(db, app_id, now, uid)?.ok_or_else(ApiError::unauthorized)?,
                )),
                None => Ok::<_, ApiError>(None),
            }
        })
        .await?;
    row.user_id = user_id;
    row.is_guest = false;
    row.updated_at = now;
    row.deadline = deadline;
    if let Some(token) = &ctx.caller.token {
        ctx.state.sessions.update(token, row.clone());
    }
    Ok((row, user))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::harness::Harness;

    /// Password checks one refused request costs; it must be refused with
    /// `status`.
    fn checks_of(h: &Harness, path: &str, token: Option<&str>, body: &Value, status: u16) -> u64 {
        let before = h.state.passwords.checks();
        let answer = h.json("POST", path, token, body);
        assert_eq!(answer.status, status, "{path} {body}");
        h.state.passwords.checks() - before
    }

    #[test]
    fn refusals_cost_a_password_check_where_the_answer_does_not_tell() {
        let h = Harness::new();
        h.session(Some("known-user"));
        let app = h.session(None);
        let session = |user: Value| json!({"application_id": 1, "auth_key": "key", "user": user});
        let wrong = json!({"login": "known-user", "password": "wrong-password"});
        let unknown = json!({"login": "no-such-user", "password": "wrong-password"});
        let unknown_short = json!({"login": "no-such-user", "password": "x"});
        let unknown_email = json!({"email": "nobody@example.com", "password": "wrong-password"});
        // A wrong password costs one check; nobody (404) costs none, at
        // POST /login (never a sign-up) ...
        assert_eq!(checks_of(&h, "/login", Some(&app), &wrong, 401), 1);
        for user in [&unknown, &unknown_short, &unknown_email] {
            assert_eq!(checks_of(&h, "/login", Some(&app), user, 404), 0, "{user}");
        }
        // ... at POST /session with sign-up on first log-in off ...
        let deny = json!({"session_without_user": "deny"});
        assert_eq!(
            h.json("PUT", "/_emulator/apps/1/settings", None, &deny)
                .status,
            200
        );
        assert_eq!(
            checks_of(&h, "/session", None, &session(wrong.clone()), 401),
            1
        );
        for user in [&unknown, &unknown_short, &unknown_email] {
            assert_eq!(
                checks_of(&h, "/session", None, &session(user.clone()), 404),
                0,
                "{user}"
            );
        }
        // ... and with it on, for credentials that could not sign up.
        let allow = json!({"session_without_user": "allow"});
        assert_eq!(
            h.json("PUT", "/_emulator/apps/1/settings", None, &allow)
                .status,
            200
        );
        assert_eq!(
            checks_of(&h, "/session", None, &session(wrong.clone()), 401),
            1
        );
        assert_eq!(
            checks_of(&h, "/session", None, &session(unknown_short.clone()), 404),
            0
        );
        // A user without a password (made by a provider sign-in, here an
        // unsigned Firebase token) is refused like a wrong password, and
        // at the same cost.
        let now = h.state.clock.now();
        let claims = json!({"iss": "https://securetoken.google.com/p", "aud": "p",
            "iat": now - 1, "exp": now + 60, "sub": "fire", "email": "fire@example.com"});
        let token = format!(
            "{}.{}.",
            crate::b64::encode_url(br#"{"alg":"none"}"#),
            crate::b64::encode_url(claims.to_string().as_bytes())
        );
        let answer = h.json(
            "POST",
            "/session",
            None,
            &json!({"application_id": 1, "auth_key": "key", "provider": "firebase_email",
                    "firebase_email": {"project_id": "p", "access_token": token}}),
        );
        assert_eq!(answer.status, 201);
        let passwordless = json!({"email": "fire@example.com", "password": "any-password"});
        assert_eq!(checks_of(&h, "/login", Some(&app), &passwordless, 401), 1);
        let answer = h.json("POST", "/login", Some(&app), &passwordless);
        assert_eq!(
            &answer.body[..],
            br#"{"errors":["Invalid password"]}"#.as_slice()
        );
    }
}
