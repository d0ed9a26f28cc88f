//! `cube config set|show`: profiles in the config folder, owner-only files,
//! the `CUBE_*` variables over them, the secret never shown.

mod common;

use common::{AUTH_SECRET, World};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn set_and_show_in_both_modes_without_the_secret() {
    let world = World::new("show");
    let table = world.cube(&["config", "show"]).ok();
    assert!(
        table.stdout.contains("set (hidden)  [profile]"),
        "{table:#?}"
    );
    assert!(
        table
            .stdout
            .contains(&format!("{}  [profile]", world.emulator.base_url())),
        "{table:#?}"
    );
    let json = world.cube(&["config", "show", "--json"]).ok().json();
    assert_eq!(json["profile"], "default");
    assert_eq!(
        json["app_id"]["value"].as_i64(),
        Some(world.emulator.app_id())
    );
    assert_eq!(json["auth_key"]["value"], world.emulator.auth_key());
    assert_eq!(json["auth_secret"]["set"], true);
    assert_eq!(json["endpoint"]["from"], "profile");
    for run in [&table.all(), &json.to_string()] {
        assert!(!run.contains(AUTH_SECRET), "{run}");
    }

    let cleared = world
        .cube(&[
            "--json",
            "config",
            "set",
            "--clear-auth-secret",
            "--clear-endpoint",
        ])
        .ok()
        .json();
    assert!(cleared["file"].as_str().unwrap().ends_with("config.json"));
    let json = world.cube(&["config", "show", "--json"]).ok().json();
    assert_eq!(json["auth_secret"]["set"], false);
    assert_eq!(json["endpoint"]["value"], "https://api.connectycube.com");
    assert_eq!(json["endpoint"]["from"], "default");
}

#[cfg(unix)]
#[test]
fn the_files_are_the_owners_alone() {
    let world = World::new("modes");
    world.signed_in("uma", "modes-pass-001");
    let dir = world.config_dir();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("config.json")), 0o600);
    assert_eq!(mode(&dir.join("sessions")), 0o700);
    assert_eq!(mode(&world.session_file("default")), 0o600);
    // Still so after rewriting a file someone opened up.
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join("config.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    world
        .cube(&["config", "set", "--auth-key", "other-key"])
        .ok();
    assert_eq!(mode(&file), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn variables_override_the_profile() {
    let world = World::new("env");
    let run = world.cube_env(
        &["config", "show", "--json"],
        "",
        &[
            ("CUBE_APP_ID", "77"),
            ("CUBE_AUTH_SECRET", "from-the-environment-42"),
        ],
    );
    let json = run.ok().json();
    assert_eq!(json["app_id"]["value"], 77);
    assert_eq!(json["app_id"]["from"], "CUBE_APP_ID");
    assert_eq!(json["auth_secret"]["from"], "CUBE_AUTH_SECRET");
    assert!(!json.to_string().contains("from-the-environment-42"));
    let bad = world.cube_env(&["config", "show"], "", &[("CUBE_APP_ID", "seven")]);
    let bad = bad.fails(2);
    assert!(bad.stderr.contains("CUBE_APP_ID"), "{bad:#?}");
    // A wrong key in the variable reaches the server, which refuses it.
    let refused = world.cube_env(
        &["users", "get", "1"],
        "",
        &[("CUBE_AUTH_KEY", "wrong-key")],
    );
    refused.fails(1);
}

#[test]
fn profiles_are_kept_apart() {
    let world = World::new("profiles");
    world
        .cube(&[
            "--profile",
            "work",
            "config",
            "set",
            "--app-id",
            "5",
            "--auth-key",
            "work-key",
        ])
        .ok();
    let work = world
        .cube(&["--profile", "work", "--json", "config", "show"])
        .ok()
        .json();
    assert_eq!(work["app_id"]["value"], 5);
    let by_var = world.cube_env(
        &["--json", "config", "show"],
        "",
        &[("CUBE_PROFILE", "work")],
    );
    assert_eq!(by_var.ok().json()["auth_key"]["value"], "work-key");
    let default = world.cube(&["--json", "config", "show"]).ok().json();
    assert_eq!(default["auth_key"]["value"], world.emulator.auth_key());

    // A profile with no application says how to set one.
    let empty = world
        .cube(&["--profile", "empty", "users", "get", "1"])
        .fails(2);
    assert!(
        empty
            .stderr
            .contains("cube --profile empty config set --app-id N"),
        "{empty:#?}"
    );
    // Profile names are file names: 64 characters at most.
    let longest = "p".repeat(64);
    world.cube(&["--profile", &longest, "config", "show"]).ok();
    world
        .cube(&["--profile", &"p".repeat(65), "config", "show"])
        .fails(2);
    world
        .cube(&["--profile", "../etc", "config", "show"])
        .fails(2);
}

#[test]
fn what_config_set_refuses() {
    let world = World::new("refuse");
    world.cube(&["config", "set"]).fails(2);
    let endpoint = world
        .cube(&["config", "set", "--endpoint", "ftp://x"])
        .fails(2);
    assert!(endpoint.stderr.contains("--endpoint"), "{endpoint:#?}");
    world.cube(&["config", "set", "--app-id", "0"]).fails(2);
    world.cube(&["config", "set", "--auth-key", ""]).fails(2);
    world
        .cube(&["config", "set", "--auth-secret-stdin"])
        .fails(2);
    world
        .cube(&[
            "config",
            "set",
            "--auth-secret-stdin",
            "--clear-auth-secret",
        ])
        .fails(2);

    std::fs::write(world.config_dir().join("config.json"), "{ broken").unwrap();
    let broken = world.cube(&["config", "show"]).fails(2);
    assert!(
        broken.stderr.contains("not a valid settings file"),
        "{broken:#?}"
    );
}

#[test]
fn without_a_config_folder_it_says_which_variable_to_set() {
    let world = World::bare("nohome");
    let mut command = world.command();
    command.env_remove("CUBE_CONFIG_DIR").env_remove("HOME");
    command.args(["config", "show"]);
    let run = common::run(command, "");
    let run = run.fails(2);
    assert!(run.stderr.contains("CUBE_CONFIG_DIR"), "{run:#?}");

    // With HOME alone, the XDG default: ~/.config/cube.
    let mut command = world.command();
    command.env_remove("CUBE_CONFIG_DIR");
    command.args(["config", "set", "--app-id", "3"]);
    common::run(command, "").ok();
    assert!(world.dir.0.join("home/.config/cube/config.json").exists());
}

/// Every settings problem is status 2 and names the file or the variable:
/// a settings file that cannot be read, is not UTF-8, is too large, is not
/// a file, has the wrong shape, a wrong type or an unknown key; a value
/// the SDK refuses; a folder that cannot be written.
#[test]
fn every_settings_problem_exits_2() {
    let world = World::new("settings-2");
    let dir = world.config_dir();
    let file = dir.join("config.json");
    let app_id = world.emulator.app_id().to_string();
    let good = std::fs::read(&file).unwrap();
    let check = |args: &[&str], env: &[(&str, &str)], says: &str| {
        let run = world.cube_env(args, "", env).fails(2);
        assert!(run.stderr.contains(says), "{says:?}: {run:#?}");
    };

    std::fs::write(
        &file,
        b"{\"profiles\": {\"default\": {\"auth_key\": \"k\xff\"}}}",
    )
    .unwrap();
    check(&["config", "show"], &[], "config.json is not UTF-8 text");
    std::fs::write(&file, " ".repeat(1024 * 1024 + 1)).unwrap();
    check(&["config", "show"], &[], "config.json is larger than 1 MiB");
    for (text, says) in [
        ("[]", "holds no JSON object"),
        (r#"{"profiles": []}"#, r#""profiles" is not an object"#),
        (
            r#"{"profiles": {"default": [1, "key"]}}"#,
            r#"profile "default" is not an object"#,
        ),
        (
            r#"{"profiles": {"default": {"app_id": "seven"}}}"#,
            "invalid type: string",
        ),
        (
            r#"{"profiles": {"default": {"endpont": "http://127.0.0.1:1"}}}"#,
            "unknown field `endpont`",
        ),
        ("{ broken", "not a valid settings file"),
    ] {
        std::fs::write(&file, text).unwrap();
        check(&["config", "show"], &[], says);
    }
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    check(
        &["config", "show"],
        &[],
        "config.json is not a regular file",
    );
    std::fs::remove_dir(&file).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
        check(
            &["config", "show"],
            &[],
            "config.json is not a regular file",
        );
        std::fs::remove_file(&file).unwrap();
    }

    // Values the SDK refuses, named with where they came from.
    let stored = |profile: &str| {
        format!(
            r#"{{"profiles": {{"default": {{"app_id": {app_id}, "auth_key": "k", {profile}}}}}}}"#
        )
    };
    std::fs::write(&file, stored(r#""endpoint": "nope""#)).unwrap();
    check(
        &["users", "get", "1"],
        &[],
        r#"the endpoint "nope" (from profile 'default') is not usable"#,
    );
    std::fs::write(&file, &good).unwrap();
    check(
        &["users", "get", "1"],
        &[("CUBE_API_URL", "ftp://example.com")],
        r#"the endpoint "ftp://example.com" (from CUBE_API_URL) is not usable"#,
    );
    let zero = format!(
        r#"{{"profiles": {{"default": {{"app_id": 0, "auth_key": "k", "endpoint": "{}"}}}}}}"#,
        world.emulator.base_url()
    );
    std::fs::write(&file, zero).unwrap();
    check(
        &["users", "get", "1"],
        &[],
        "the application id 0 (from profile 'default') is not usable",
    );

    // The settings folder is below a file: nothing can be read or written.
    let blocker = world.dir.0.join("blocker");
    std::fs::write(&blocker, "a file").unwrap();
    let below = blocker.join("cube");
    let below = below.to_str().unwrap();
    check(
        &["config", "show"],
        &[("CUBE_CONFIG_DIR", below)],
        "config.json cannot be read",
    );
    // A folder where nothing can be created, even by root.
    #[cfg(target_os = "linux")]
    check(
        &["config", "set", "--app-id", "3"],
        &[("CUBE_CONFIG_DIR", "/proc/self")],
        "cannot write the settings file /proc/self/config.json",
    );
}
