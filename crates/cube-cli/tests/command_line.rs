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
    world.cube(&["nonsense"]).fails(2);
    world.cube(&["users", "get", "not-a-number"]).fails(2);
    world.cube(&["completions", "tcsh"]).fails(2);
    // Asked without a subcommand, it shows the help (and status 2).
    let bare = world.cube(&[]);
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("Usage: cube"), "{bare:#?}");
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
    assert!(run.stderr.contains("transport"), "{run:#?}");
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
