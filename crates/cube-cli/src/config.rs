//! Profiles: an application's id, auth key, auth secret and endpoint under
//! a name, in `config.json` of the command's folder. `CUBE_APP_ID`,
//! `CUBE_AUTH_KEY`, `CUBE_AUTH_SECRET` and `CUBE_API_URL` override what is
//! stored.

use crate::error::{Failure, Result};
use crate::files;
use cube_blocking::proto::Config;
use cube_blocking::{Client, ClientBuilder, ProtoError, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

type ProtoResult<T> = std::result::Result<T, ProtoError>;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";
/// The endpoint when none is set: the production service.
pub(crate) const DEFAULT_ENDPOINT: &str = cube_blocking::proto::config::DEFAULT_BASE_URL;

/// What `config.json` holds. A key it does not know is refused, not
/// ignored: a misspelt `endpont` must not send a profile to production.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, StoredProfile>,
}

/// One profile as stored.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) endpoint: Option<String>,
}

impl fmt::Debug for StoredProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredProfile")
            .field("app_id", &self.app_id)
            .field("auth_key", &self.auth_key)
            .field(
                "auth_secret",
                &self.auth_secret.as_ref().map(|_| "[hidden]"),
            )
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// The command's folder and the profile in use.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) dir: PathBuf,
    pub(crate) profile: String,
}

impl Place {
    /// The folder, and the profile named on the command line, else by
    /// `CUBE_PROFILE` (ignored when empty, as the other variables are),
    /// else `default`; checked to be usable as a file name.
    pub(crate) fn new(flag: Option<String>) -> Result<Self> {
        let env = std::env::var("CUBE_PROFILE").ok().filter(|v| !v.is_empty());
        let (profile, from) = match (flag, env) {
            (Some(name), _) => (name, "--profile"),
            (None, Some(name)) => (name, "CUBE_PROFILE"),
            (None, None) => (DEFAULT_PROFILE.to_owned(), "the default"),
        };
        check_profile_name(&profile, from)?;
        Ok(Self {
            dir: files::config_dir()?,
            profile,
        })
    }

    pub(crate) fn config_file(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Where the profile's session is kept.
    pub(crate) fn session_file(&self) -> PathBuf {
        self.dir
            .join("sessions")
            .join(format!("{}.json", self.profile))
    }

    /// The settings file; a missing one is an empty one. Whatever keeps it
    /// from being read is a settings problem (status 2) that names the file.
    pub(crate) fn load(&self) -> Result<ConfigFile> {
        let path = self.config_file();
        let broken = |why: String| {
            Failure::usage(format!(
                "the settings file {} {why}: fix it or remove it",
                path.display()
            ))
        };
        match files::read_optional(&path) {
            Ok(None) => Ok(ConfigFile::default()),
            Ok(Some(text)) => {
                parse(&text).map_err(|why| broken(format!("is not a valid settings file ({why})")))
            }
            Err(e) => Err(broken(e.to_string())),
        }
    }

    pub(crate) fn save(&self, config: &ConfigFile) -> Result<()> {
        let path = self.config_file();
        let mut text = serde_json::to_string_pretty(config)
            .map_err(|e| Failure::usage(format!("cannot write the settings: {e}")))?;
        text.push('\n');
        files::write_private(&path, text.as_bytes()).map_err(|e| {
            Failure::usage(format!(
                "cannot write the settings file {}: {e}",
                path.display()
            ))
        })
    }
}

/// Reads `config.json`: an object, whose `profiles` is an object of
/// objects (serde would take an array for a struct), with known keys of
/// the right types.
fn parse(text: &str) -> std::result::Result<ConfigFile, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let top = value
        .as_object()
        .ok_or("it holds no JSON object; write {\"profiles\": {…}}")?;
    if let Some(profiles) = top.get("profiles") {
        let profiles = profiles
            .as_object()
            .ok_or("\"profiles\" is not an object of profiles")?;
        if let Some((name, _)) = profiles.iter().find(|(_, p)| !p.is_object()) {
            return Err(format!("profile {name:?} is not an object"));
        }
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn check_profile_name(name: &str, from: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "invalid profile name {name:?} (from {from}): use 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    File,
    Env(&'static str),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File => f.write_str("profile"),
            Source::Env(name) => f.write_str(name),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

/// The profile's settings after the environment had its say.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) profile: String,
    pub(crate) app_id: Option<Setting<u64>>,
    pub(crate) auth_key: Option<Setting<String>>,
    pub(crate) auth_secret: Option<Setting<Secret>>,
    pub(crate) endpoint: Setting<String>,
}

impl Settings {
    /// The stored profile with the `CUBE_*` variables over it.
    pub(crate) fn resolve(place: &Place, config: &ConfigFile) -> Result<Self> {
        Self::resolve_with(place, config, |name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    fn resolve_with(
        place: &Place,
        config: &ConfigFile,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let stored = config
            .profiles
            .get(&place.profile)
            .cloned()
            .unwrap_or_default();
        let app_id = match env("CUBE_APP_ID") {
            Some(text) => Some(Setting {
                value: text.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Failure::usage(format!("CUBE_APP_ID is not an application id: {text:?}"))
                })?,
                source: Source::Env("CUBE_APP_ID"),
            }),
            None => stored.app_id.map(|value| Setting {
                value,
                source: Source::File,
            }),
        };
        let pick = |name: &'static str, stored: Option<String>| match env(name) {
            Some(value) => Some(Setting {
                value,
                source: Source::Env(name),
            }),
            None => stored.map(|value| Setting {
                value,
                source: Source::File,
            }),
        };
        let auth_key = pick("CUBE_AUTH_KEY", stored.auth_key);
        let auth_secret = pick("CUBE_AUTH_SECRET", stored.auth_secret).map(|s| Setting {
            value: Secret::new(s.value),
            source: s.source,
        });
        let endpoint = pick("CUBE_API_URL", stored.endpoint).unwrap_or(Setting {
            value: DEFAULT_ENDPOINT.to_owned(),
            source: Source::Default,
        });
        Ok(Self {
            profile: place.profile.clone(),
            app_id,
            auth_key,
            auth_secret,
            endpoint,
        })
    }

    /// A client builder for these settings; the application id and auth
    /// key are needed.
    pub(crate) fn client_builder(&self) -> Result<ClientBuilder> {
        let missing = |what: &str, flag: &str, var: &str| {
            Failure::usage(format!(
                "profile '{}' has no {what}: run `cube{} config set {flag}` or set {var}",
                self.profile,
                profile_flag(&self.profile),
            ))
        };
        let app_id = self
            .app_id
            .as_ref()
            .ok_or_else(|| missing("application id", "--app-id N", "CUBE_APP_ID"))?;
        let auth_key = self
            .auth_key
            .as_ref()
            .ok_or_else(|| missing("auth key", "--auth-key KEY", "CUBE_AUTH_KEY"))?;
        // The SDK decides what each value may be; this names where a value
        // it refuses came from.
        let from = |source: Source| match source {
            Source::File => format!("profile '{}'", self.profile),
            other => other.to_string(),
        };
        let usable = |what: &str, shown: String, source: Source, built: ProtoResult<Config>| {
            built.map(drop).map_err(|e| {
                Failure::usage(format!(
                    "the {what} {shown} (from {}) is not usable: {e}",
                    from(source)
                ))
            })
        };
        if app_id.value == 0 {
            // As `config set --app-id` and CUBE_APP_ID refuse it.
            return Err(Failure::usage(format!(
                "the application id 0 (from {}) is not usable: it is 1 or more",
                from(app_id.source)
            )));
        }
        usable(
            "application id",
            app_id.value.to_string(),
            app_id.source,
            Config::builder(app_id.value, "key").build(),
        )?;
        usable(
            "auth key",
            format!("{:?}", auth_key.value),
            auth_key.source,
            Config::builder(1, auth_key.value.clone()).build(),
        )?;
        usable(
            "endpoint",
            format!("{:?}", self.endpoint.value),
            self.endpoint.source,
            Config::builder(1, "key")
                .base_url(&self.endpoint.value)
                .build(),
        )?;
        let builder =
            Client::builder(app_id.value, auth_key.value.clone()).base_url(&self.endpoint.value);
        Ok(match &self.auth_secret {
            Some(secret) => builder.auth_secret(secret.value.clone()),
            None => builder,
        })
    }
}

/// ` --profile NAME` for a command suggested to the user, empty for the
/// default profile.
pub(crate) fn profile_flag(profile: &str) -> String {
    if profile == DEFAULT_PROFILE {
        String::new()
    } else {
        format!(" --profile {profile}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(profile: &str) -> Place {
        Place {
            dir: PathBuf::from("/nowhere"),
            profile: profile.to_owned(),
        }
    }

    fn stored() -> ConfigFile {
        let mut config = ConfigFile::default();
        config.profiles.insert(
            "work".into(),
            StoredProfile {
                app_id: Some(7),
                auth_key: Some("key".into()),
                auth_secret: Some("very-secret".into()),
                endpoint: None,
            },
        );
        config
    }

    #[test]
    fn variables_override_the_stored_profile() {
        let env = |name: &str| match name {
            "CUBE_APP_ID" => Some("9".to_owned()),
            "CUBE_API_URL" => Some("http://127.0.0.1:1".to_owned()),
            _ => None,
        };
        let s = Settings::resolve_with(&place("work"), &stored(), env).unwrap();
        let app_id = s.app_id.unwrap();
        assert_eq!(
            (app_id.value, app_id.source),
            (9, Source::Env("CUBE_APP_ID"))
        );
        assert_eq!(s.auth_key.unwrap().source, Source::File);
        assert_eq!(s.endpoint.value, "http://127.0.0.1:1");
        let plain = Settings::resolve_with(&place("work"), &stored(), |_| None).unwrap();
        assert_eq!(plain.endpoint.source, Source::Default);
        assert_eq!(plain.app_id.unwrap().value, 7);
    }

    #[test]
    fn a_bad_app_id_variable_is_a_usage_error() {
        let env = |name: &str| (name == "CUBE_APP_ID").then(|| "seven".to_owned());
        let err = Settings::resolve_with(&place("work"), &stored(), env).unwrap_err();
        assert_eq!(err.status, crate::error::Status::Usage);
    }

    #[test]
    fn a_profile_without_id_or_key_says_how_to_set_them() {
        let s = Settings::resolve_with(&place("home"), &stored(), |_| None).unwrap();
        let err = s.client_builder().unwrap_err();
        assert!(
            err.line()
                .contains("cube --profile home config set --app-id N"),
            "{}",
            err.line()
        );
    }

    #[test]
    fn profile_names_are_file_names() {
        for bad in ["", "../x", "a/b", "a b", ".hidden", &"x".repeat(65)] {
            assert!(check_profile_name(bad, "--profile").is_err(), "{bad:?}");
        }
        for good in ["default", "work-2", "ci_x", &"x".repeat(64)] {
            assert!(check_profile_name(good, "--profile").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", stored());
        assert!(!text.contains("very-secret"), "{text}");
    }
}
