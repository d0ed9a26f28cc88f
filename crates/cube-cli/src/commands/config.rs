//! `cube config set` and `cube config show`.

use super::Invocation;
use crate::cli::{ConfigCommand, ConfigSetArgs};
use crate::config::{Setting, Source};
use crate::error::{Failure, Result};
use crate::prompt;
use serde_json::{Value, json};

pub(super) fn run(ctx: &Invocation, command: ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Set(args) => set(ctx, args),
        ConfigCommand::Show => show(ctx),
    }
}

fn set(ctx: &Invocation, args: ConfigSetArgs) -> Result<()> {
    let changes = args.app_id.is_some()
        || args.auth_key.is_some()
        || args.auth_secret_stdin
        || args.clear_auth_secret
        || args.endpoint.is_some()
        || args.clear_endpoint;
    if !changes {
        return Err(Failure::usage(
            "nothing to set: give --app-id, --auth-key, --auth-secret-stdin or --endpoint (see `cube config set --help`)",
        ));
    }
    if let Some(endpoint) = &args.endpoint {
        // The SDK decides what an endpoint may be.
        cube_blocking::proto::Config::builder(1, "key")
            .base_url(endpoint)
            .build()
            .map_err(|e| Failure::usage(format!("--endpoint {endpoint:?}: {e}")))?;
    }
    if args.auth_key.as_deref() == Some("") {
        return Err(Failure::usage("--auth-key must not be empty"));
    }
    let secret = if args.auth_secret_stdin {
        Some(prompt::read_stdin_lines(&["auth secret"])?.remove(0))
    } else {
        None
    };
    let mut config = ctx.place.load()?;
    let profile = config
        .profiles
        .entry(ctx.place.profile.clone())
        .or_default();
    if let Some(app_id) = args.app_id {
        profile.app_id = Some(app_id);
    }
    if let Some(key) = args.auth_key {
        profile.auth_key = Some(key);
    }
    if secret.is_some() {
        profile.auth_secret = secret;
    }
    if args.clear_auth_secret {
        profile.auth_secret = None;
    }
    if let Some(endpoint) = args.endpoint {
        profile.endpoint = Some(endpoint);
    }
    if args.clear_endpoint {
        profile.endpoint = None;
    }
    ctx.place.save(&config)?;
    let file = ctx.place.config_file().display().to_string();
    ctx.out.result(
        json!({"profile": ctx.place.profile, "file": file}),
        &format!("Saved profile '{}' in {file}", ctx.place.profile),
    )
}

fn show(ctx: &Invocation) -> Result<()> {
    let s = ctx.settings()?;
    let file = ctx.place.config_file().display().to_string();
    if ctx.out.is_json() {
        fn entry<T: serde::Serialize>(setting: &Option<Setting<T>>) -> Value {
            match setting {
                Some(s) => json!({"value": s.value, "from": s.source.to_string()}),
                None => json!({"value": null, "from": null}),
            }
        }
        return ctx.out.document(&json!({
            "profile": s.profile,
            "file": file,
            "app_id": entry(&s.app_id),
            "auth_key": entry(&s.auth_key),
            // Whether it is set, and from where; never the secret.
            "auth_secret": {
                "set": s.auth_secret.is_some(),
                "from": s.auth_secret.as_ref().map(|a| a.source.to_string()),
            },
            "endpoint": {"value": s.endpoint.value, "from": s.endpoint.source.to_string()},
        }));
    }
    fn shown<T: ToString>(setting: &Option<Setting<T>>) -> String {
        match setting {
            Some(s) => with_source(s.value.to_string(), s.source),
            None => "(not set)".to_owned(),
        }
    }
    let secret = match &s.auth_secret {
        Some(a) => with_source("set (hidden)".to_owned(), a.source),
        None => "(not set: session requests go unsigned)".to_owned(),
    };
    ctx.out.fields(&[
        ("profile", s.profile.clone()),
        ("app id", shown(&s.app_id)),
        ("auth key", shown(&s.auth_key)),
        ("auth secret", secret),
        (
            "endpoint",
            with_source(s.endpoint.value.clone(), s.endpoint.source),
        ),
        ("file", file),
    ])
}

fn with_source(value: String, source: Source) -> String {
    format!("{value}  [{source}]")
}
