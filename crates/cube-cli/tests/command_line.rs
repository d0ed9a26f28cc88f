//! The command line itself: usage errors, the transport status, shell
//! completions, help, and `cube emulator`.

mod common;

use common::World;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn a_mistake_on_the_command_line_is_one_line_and_status_2() {
    let world = World::bare("usage");
    let run = world.cube(&["login", "--logn", "x"]).fails(2);
    assert!(run.stderr.contains("--logn"), "{run:#?}");
    assert!(
        run.stderr.contains("tip:"),
        "clap's suggestion is kept: {run:#?}"
    );
    assert!(run.stderr.contains("see `cube login --help`"), "{run:#?}");
    let unknown = world.cube(&["nonsense"]).fails(2);
    assert!(unknown.stderr.contains("see `cube --help`"), "{unknown:#?}");
    let value = world.cube(&["users", "get", "not-a-number"]).fails(2);
    assert!(
        value.stderr.contains("see `cube users get --help`"),
        "{value:#?}"
    );
    world.cube(&["completions", "tcsh"]).fails(2);
    // Asked without a subcommand, it shows the help (and status 2).
    let bare = world.cube(&[]);
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("Usage: cube"), "{bare:#?}");
}

/// A missing argument is named, with the help of the command it belongs
/// to.
#[test]
fn a_missing_argument_is_named_with_the_subcommands_help() {
    let world = World::bare("missing");
    for (args, says) in [
        (
            &["login"][..],
            "`cube login` needs --login <LOGIN> or --email <EMAIL>; see `cube login --help`",
        ),
        (
            &["avatar", "get", "bob"],
            "`cube avatar get` needs --out <FILE>; see `cube avatar get --help`",
        ),
        (
            &["--profile", "work", "users", "search"],
            "`cube users search` needs --where <FILTER>; see `cube users search --help`",
        ),
        (
            &["signup", "--password-stdin"],
            "`cube signup` needs --login <LOGIN> or --email <EMAIL>; see `cube signup --help`",
        ),
        (
            &["completions"],
            "`cube completions` needs <SHELL>; see `cube completions --help`",
        ),
    ] {
        let run = world.cube(args).fails(2);
        assert_eq!(run.stderr.trim_end(), format!("cube: {says}"), "{args:?}");
    }
}

/// Help for people: the options of every command apart, the way to start,
/// examples, and `--timeout`'s form.
#[test]
fn help_is_written_for_people() {
    let world = World::bare("help-people");
    let top = world.cube(&["--help"]).ok().stdout;
    for text in [
        "Global options:",
        "--timeout <DURATION>",
        "e.g. 500ms, 10s, 1.5s or 2m (a bare number is seconds), from 1ms to 1h",
        "Start: `cube config set --app-id N --auth-key KEY`",
        "`cube COMMAND --help`",
    ] {
        assert!(top.contains(text), "{text:?} in {top}");
    }
    let login = world.cube(&["login", "--help"]).ok().stdout;
    let own = login.find("Options:").unwrap();
    let global = login.find("Global options:").unwrap();
    assert!(own < global, "{login}");
    assert!(
        !login[own..global].contains("--profile"),
        "the global options are apart: {login}"
    );
    assert!(
        login.contains("Example: cube login --login john_doe"),
        "{login}"
    );
    let avatar = world.cube(&["avatar", "set", "--help"]).ok().stdout;
    assert!(avatar.contains("--any-file"), "{avatar}");
    assert!(avatar.contains("PNG, JPEG, GIF, WebP"), "{avatar}");
}

#[test]
fn help_and_version_go_to_stdout() {
    let world = World::bare("help");
    let help = world.cube(&["--help"]).ok();
    for word in [
        "login",
        "users",
        "avatar",
        "emulator",
        "completions",
        "CUBE_CONFIG_DIR",
    ] {
        assert!(help.stdout.contains(word), "{word}: {help:#?}");
    }
    assert!(!help.stdout.contains("report-peak-memory"));
    let search = world.cube(&["users", "search", "--help"]).ok();
    assert!(search.stdout.contains("start_with"), "{search:#?}");
    let version = world.cube(&["--version"]).ok();
    assert!(version.stdout.starts_with("cube "), "{version:#?}");
}

#[test]
fn an_unreachable_server_is_status_3() {
    let world = World::new("transport");
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    world.cube(&["config", "set", "--endpoint", &endpoint]).ok();
    let run = world.cube(&["users", "get", "1"]).fails(3);
    assert!(
        run.stderr
            .contains(&format!("the server at {endpoint} could not be reached")),
        "{run:#?}"
    );
    let run = world.cube_in(
        &["login", "--login", "x", "--password-stdin"],
        "password-1\n",
    );
    run.fails(3);
}

#[test]
fn completions_for_each_shell() {
    let world = World::bare("completions");
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cube"),
        ("fish", "complete -c cube"),
    ] {
        let run = world.cube(&["completions", shell]).ok();
        assert!(
            run.stdout.contains(marker),
            "{shell}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        for command in ["login", "delete-me", "avatar"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
}

#[test]
fn a_closed_output_ends_the_listing_quietly() {
    let world = World::new("pipe");
    for i in 0..30 {
        world
            .cube_in(
                &[
                    "signup",
                    "--login",
                    &format!("piped_{i:02}"),
                    "--password-stdin",
                    "--tags",
                    "pipe",
                ],
                "pipe-password-1\n",
            )
            .ok();
    }
    let mut command = world.command();
    command
        .args([
            "--json", "users", "find", "--tags", "pipe", "--limit", "5", "--all",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with('{'), "{first}");
    drop(out);
    let code = common::wait(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!((code, stderr.as_str()), (0, ""));
}

#[test]
fn the_emulator_runs_in_the_foreground_until_told_to_stop() {
    let world = World::bare("emulator");
    let mut command = world.command();
    command
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--in-memory",
            "--app-id",
            "7",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    let url = ready
        .trim()
        .strip_prefix("cube-emulator listening on ")
        .unwrap_or_else(|| panic!("ready line: {ready:?}"))
        .to_owned();

    // A profile pointed at it works end to end.
    world
        .cube(&[
            "config",
            "set",
            "--app-id",
            "7",
            "--auth-key",
            "emulator-auth-key",
            "--endpoint",
            &url,
        ])
        .ok();
    world
        .cube_in(
            &["signup", "--login", "zoe_e", "--password-stdin"],
            "emulator-pass-1\n",
        )
        .ok();
    world
        .cube_in(
            &["login", "--login", "zoe_e", "--password-stdin"],
            "emulator-pass-1\n",
        )
        .ok();
    world.cube(&["whoami"]).ok();

    let stop = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    assert_eq!(common::wait(&mut child, Duration::from_secs(30)), 0);

    // The emulator's flags are checked as the emulator checks them.
    world.cube(&["emulator", "--app-id", "0"]).fails(2);
    world
        .cube(&["emulator", "--provider-timeout", "601"])
        .fails(2);
}

/// Every flag and variable of the emulator's documented command line
/// (`docs/EMULATOR.md`) is one of `cube emulator`'s (its version is
/// `cube --version`).
#[test]
fn cube_emulator_takes_every_documented_flag() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/EMULATOR.md"
    ))
    .unwrap();
    let start = doc.find("## Command line").unwrap();
    let end = start + doc[start..].find("\n## ").unwrap();
    // The table's rows: `| flag | variable | default | what |`.
    let table: String = doc[start..end]
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect();
    let names: Vec<&str> = table
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|code| code.split([' ', '=', '|', ',']))
        .filter(|w| (w.starts_with("--") && w.len() > 2) || w.starts_with("CUBE_EMULATOR_"))
        .filter(|w| *w != "--version")
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    let help = World::bare("emulator-help")
        .cube(&["emulator", "--help"])
        .ok();
    for name in names {
        assert!(
            help.stdout.contains(name),
            "{name} is missing: {}",
            help.stdout
        );
    }
}

/// `--timeout` bounds the wait for an answer: a server that accepts the
/// connection and never answers fails the command with status 3 after
/// the time given, not the default 30 s.
#[test]
fn timeout_bounds_the_wait_for_an_answer() {
    let world = World::new("timeout");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    // Accepts and holds connections, answering nothing, for the test's
    // length at most.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept() {
            held.push(stream);
            if held.len() > 16 {
                return;
            }
        }
    });
    let started = std::time::Instant::now();
    let run = world
        .cube_env(
            &["--timeout", "1500ms", "users", "get", "1"],
            "",
            &[("CUBE_API_URL", &endpoint)],
        )
        .fails(3);
    let took = started.elapsed();
    assert!(
        run.stderr.contains(&format!(
            "the server at {endpoint} did not answer within 1.5s (--timeout to wait longer)"
        )),
        "{run:#?}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(20),
        "{took:?}"
    );

    for bad in ["0", "10x", "2h", "1.s", ""] {
        let run = world
            .cube(&["--timeout", bad, "users", "get", "1"])
            .fails(2);
        assert!(
            run.stderr.contains("500ms, 10s, 1.5s or 2m"),
            "{bad}: {run:#?}"
        );
    }
    // Anywhere on the command line, as the other global options.
    world
        .cube(&["users", "get", "--login", "nobody_here", "--timeout", "20s"])
        .fails(1);
}

/// An empty CUBE_PROFILE is unset, as every other CUBE_ variable; a bad
/// one is named as the variable's.
#[test]
fn an_empty_profile_variable_means_the_default_profile() {
    let world = World::new("emptyprofile");
    let run = world.cube_env(&["--json", "config", "show"], "", &[("CUBE_PROFILE", "")]);
    assert_eq!(run.ok().json()["profile"], "default");
    let bad = world
        .cube_env(&["config", "show"], "", &[("CUBE_PROFILE", "../etc")])
        .fails(2);
    assert!(bad.stderr.contains("(from CUBE_PROFILE)"), "{bad:#?}");
}
