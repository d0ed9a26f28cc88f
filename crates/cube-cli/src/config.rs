//! Profiles: an application's id, auth key, auth secret and endpoint under
//! a name, in `config.json` of the command's folder. `CUBE_APP_ID`,
//! `CUBE_AUTH_KEY`, `CUBE_AUTH_SECRET` and `CUBE_API_URL` override what is
//! stored.

use crate::error::{Failure, Result};
use crate::files;
use cube_blocking::{Client, ClientBuilder, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";
/// The endpoint when none is set: the production service.
pub(crate) const DEFAULT_ENDPOINT: &str = cube_blocking::proto::config::DEFAULT_BASE_URL;

/// What `config.json` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, StoredProfile>,
}

/// One profile as stored.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The folder, and the profile named on the command line (or by
    /// `CUBE_PROFILE`), checked to be usable as a file name.
    pub(crate) fn new(profile: Option<String>) -> Result<Self> {
        let profile = profile.unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        check_profile_name(&profile)?;
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

    pub(crate) fn load(&self) -> Result<ConfigFile> {
        let path = self.config_file();
        match files::read_optional(&path)? {
            None => Ok(ConfigFile::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                Failure::usage(format!(
                    "{} is not a valid settings file ({e}): fix it or remove it",
                    path.display()
                ))
            }),
        }
    }

    pub(crate) fn save(&self, config: &ConfigFile) -> Result<()> {
        let path = self.config_file();
        let mut text = serde_json::to_string_pretty(config)
            .map_err(|e| Failure::refused(format!("cannot write the settings: {e}")))?;
        text.push('\n');
        files::write_private(&path, text.as_bytes())
            .map_err(|e| Failure::refused(format!("cannot write {}: {e}", path.display())))
    }
}

fn check_profile_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "invalid profile name {name:?}: use 1 to 64 letters, digits, '-' or '_'"
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
            assert!(check_profile_name(bad).is_err(), "{bad:?}");
        }
        for good in ["default", "work-2", "ci_x", &"x".repeat(64)] {
            assert!(check_profile_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", stored());
        assert!(!text.contains("very-secret"), "{text}");
    }
}
