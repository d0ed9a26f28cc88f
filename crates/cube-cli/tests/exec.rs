//! `cube emulator exec [FLAGS] -- CMD ARGS…`: a fresh emulator for one
//! command. CMD's status is `cube`'s; CMD reaches the emulator through
//! the variables it gets; a signal to `cube` stops both; nothing is left
//! running afterwards: not CMD, not the emulator's port.

mod common;

use common::{TempDir, World};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `cube emulator exec -- sh -c SCRIPT`, with standard input.
fn exec_sh(world: &World, flags: &[&str], script: &str, stdin: &str) -> common::Run {
    let mut args = vec!["emulator", "exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    world.cube_in(&args, stdin)
}

/// Waits (bounded) for a file CMD writes, and reads it.
fn read_when_there(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` is still there (a zombie counts as gone).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Whether something accepts connections at `url` (`http://IP:PORT`).
fn listening(url: &str) -> bool {
    let addr = url.trim_start_matches("http://").parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[test]
fn cube_exits_with_cmds_status() {
    let world = World::bare("exec-status");
    assert_eq!(exec_sh(&world, &[], "exit 7", "").code, 7);
    let ok = exec_sh(&world, &[], "exit 0", "");
    assert_eq!(
        (ok.code, ok.stdout.as_str(), ok.stderr.as_str()),
        (0, "", "")
    );
    // Killed by a signal: 128 + its number, as a shell reports it.
    assert_eq!(exec_sh(&world, &[], "kill -TERM $$", "").code, 143);
    assert_eq!(exec_sh(&world, &[], "kill -KILL $$", "").code, 137);
    // CMD's output is its own, untouched.
    let said = exec_sh(&world, &[], "echo out; echo err >&2; exit 3", "");
    assert_eq!(
        (said.code, said.stdout.as_str(), said.stderr.as_str()),
        (3, "out\n", "err\n")
    );
    // A command that cannot run: the shell's 127, and one line why.
    world
        .cube(&["emulator", "exec", "--", "no-such-command-for-cube"])
        .fails(127);
    // No command, or emulator flags before `exec`: usage errors.
    world.cube(&["emulator", "exec"]).fails(2);
    world.cube(&["emulator", "exec", "--"]).fails(2);
    world
        .cube(&["emulator", "--in-memory", "exec", "--", "true"])
        .fails(2);
    world
        .cube(&["emulator", "exec", "--app-id", "0", "--", "true"])
        .fails(2);
    // A variable of the emulator is not a flag before `exec`.
    let run = world.cube_env(
        &["emulator", "exec", "--", "true"],
        "",
        &[("CUBE_EMULATOR_LISTEN", "127.0.0.1:0")],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn cmd_reaches_the_emulator_through_its_variables() {
    let world = World::bare("exec-reach");
    // The variables name the emulator and its application.
    let script = r#"test -n "$CUBE_API_URL" && test "$CUBE_APP_ID" = 5 \
        && test "$CUBE_AUTH_KEY" = exec-key && test "$CUBE_AUTH_SECRET" = exec-secret"#;
    let flags = [
        "--app-id",
        "5",
        "--auth-key",
        "exec-key",
        "--auth-secret",
        "exec-secret",
    ];
    assert_eq!(exec_sh(&world, &flags, script, "").code, 0);
    // `cube` itself, run as CMD, signs up and in against it.
    let cube = env!("CARGO_BIN_EXE_cube");
    let script = format!(
        r#"printf 'exec-pass-1\n' | "{cube}" --json signup --login exec_ann --password-stdin \
         && printf 'exec-pass-1\n' | "{cube}" login --login exec_ann --password-stdin \
         && "{cube}" --json whoami"#
    );
    let run = exec_sh(&world, &[], &script, "");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(r#""login":"exec_ann""#), "{run:?}");
}

#[test]
fn nothing_is_left_running_afterwards() {
    let world = World::bare("exec-clean");
    let dir = TempDir::new("exec-clean-files");
    let (pid_file, url_file) = (dir.0.join("pid"), dir.0.join("url"));
    let script = format!(
        r#"echo $$ > "{}"; echo "$CUBE_API_URL" > "{}"; exit 4"#,
        pid_file.display(),
        url_file.display()
    );
    assert_eq!(exec_sh(&world, &[], &script, "").code, 4);
    let (pid, url) = (read_when_there(&pid_file), read_when_there(&url_file));
    assert!(!running(&pid), "CMD ({pid}) is still running");
    assert!(!listening(&url), "the emulator still listens at {url}");
    // In memory unless told: nothing was written where it ran.
    assert!(!world.dir.0.join(".cube-emulator").exists());
}

#[test]
fn a_signal_to_cube_stops_cmd_and_the_emulator() {
    for (signal, status) in [("-TERM", 143), ("-INT", 130)] {
        let world = World::bare("exec-signal");
        let dir = TempDir::new("exec-signal-files");
        let (pid_file, url_file) = (dir.0.join("pid"), dir.0.join("url"));
        // CMD is the `sleep` itself (exec), so the signal reaches it.
        let script = format!(
            r#"echo $$ > "{}"; echo "$CUBE_API_URL" > "{}"; exec sleep 60"#,
            pid_file.display(),
            url_file.display()
        );
        let mut command = world.command();
        command
            .args(["emulator", "exec", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut cube = command.spawn().unwrap();
        let (pid, url) = (read_when_there(&pid_file), read_when_there(&url_file));
        assert!(running(&pid) && listening(&url));
        let sent = std::process::Command::new("kill")
            .args([signal, &cube.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // Well before the 60 s of the sleep.
        let started = Instant::now();
        assert_eq!(
            common::wait(&mut cube, Duration::from_secs(30)),
            status,
            "{signal}"
        );
        assert!(started.elapsed() < Duration::from_secs(15));
        assert!(!running(&pid), "CMD ({pid}) survived {signal}");
        assert!(
            !listening(&url),
            "the emulator still listens after {signal}"
        );
    }
}

#[test]
fn a_data_set_is_imported_and_exported_around_cmd() {
    let world = World::bare("exec-data");
    let seed = TempDir::new("exec-data-set");
    let saved = seed.0.join("saved");
    let cube = env!("CARGO_BIN_EXE_cube");
    let sign_up =
        format!(r#"printf 'exec-pass-2\n' | "{cube}" signup --login exec_bo --password-stdin"#);
    let export = saved.to_str().unwrap();
    assert_eq!(
        exec_sh(&world, &["--export-on-exit", export], &sign_up, "").code,
        0
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["counts"]["users"], 1, "{manifest}");
    // The next run starts from it: the login is taken. A fresh emulator
    // knows no one.
    let run = exec_sh(&world, &["--import", export], &sign_up, "");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("login has already been taken"),
        "{run:?}"
    );
    assert_eq!(exec_sh(&world, &[], &sign_up, "").code, 0);
    // A folder that cannot take an export is refused before CMD runs: no
    // work is done that could not be saved.
    let blocked = seed.0.join("not-a-data-set");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(blocked.join("something"), "else").unwrap();
    let ran = seed.0.join("cmd-ran");
    let run = exec_sh(
        &world,
        &["--export-on-exit", blocked.to_str().unwrap()],
        &format!("touch '{}'", ran.display()),
        "",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("cube: cannot start the emulator: cannot export to"),
        "{run:?}"
    );
    assert!(
        !ran.exists(),
        "CMD ran although the export target was refused"
    );
    assert_eq!(
        std::fs::read_to_string(blocked.join("something")).unwrap(),
        "else"
    );
}
