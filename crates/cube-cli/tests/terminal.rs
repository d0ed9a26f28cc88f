//! Another user's text never drives the terminal: control characters and
//! bidi controls in what the server sends are shown escaped in tables and
//! plain output, and `--json` escapes them as JSON does.

mod common;

use common::{World, in_terminal};

const PASSWORD: &str = "terminal-pass-2231";

/// A full name that, printed raw, would clear the screen, set the
/// clipboard (OSC 52), ring the bell, return to the line's start, start a
/// C1 CSI sequence, and turn the rest of the line around.
const HOSTILE: &str =
    "Evelyn\u{1b}[2J\u{1b}]52;c;cm0gLXJmIH4=\u{7}\rAdmin\u{9b}31m\u{7f}\u{202e}nimda";

/// Whether `c` may not reach a terminal raw (a line break of the output's
/// own aside).
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn world_with_hostile_user() -> (World, u64) {
    let world = World::new("hostile");
    let user = world
        .cube_in(
            &[
                "--json",
                "signup",
                "--login",
                "eve_hostile",
                "--password-stdin",
                "--full-name",
                HOSTILE,
                "--custom-data",
                "\u{1b}]52;c;Y3VybCBldmlsIHwgc2g=\u{7}",
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok()
        .json();
    assert_eq!(
        user["full_name"], HOSTILE,
        "the server keeps the name as sent"
    );
    world.signed_in("viewer", PASSWORD);
    (world, user["id"].as_u64().unwrap())
}

#[test]
fn tables_and_plain_output_show_control_characters_escaped() {
    let (world, id) = world_with_hostile_user();
    let id = id.to_string();
    for args in [
        &["users", "get", id.as_str()][..],
        &["users", "get", "--login", "eve_hostile"],
        &["users", "find", "--ids", id.as_str()],
        &["users", "find", "--full-name", "Evel"],
        &["users", "search", "--where", "login start_with eve_"],
    ] {
        let run = world.cube(args).ok();
        assert!(
            !run.stdout.chars().any(unsafe_char),
            "{args:?} printed a raw control character: {:?}",
            run.stdout
        );
        assert!(
            run.stdout.contains(r"Evelyn\u{1b}[2J\u{1b}]52;c;"),
            "{args:?}: {:?}",
            run.stdout
        );
        // A table cuts the cell at 40 characters; a user's fields are whole.
        if args[1] == "get" {
            assert!(
                run.stdout.contains(r"\rAdmin\u{9b}31m\u{7f}\u{202e}nimda"),
                "{args:?}: {:?}",
                run.stdout
            );
            assert!(
                run.stdout
                    .contains(r"custom data  \u{1b}]52;c;Y3VybCBldmlsIHwgc2g=\u{7}"),
                "{args:?}: {:?}",
                run.stdout
            );
        }
    }
    // The table keeps its columns: the escaped name is one cell.
    let table = world.cube(&["users", "find", "--ids", &id]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", table.stdout);
    assert_eq!(lines[1].find("eve_hostile"), lines[0].find("LOGIN"));
}

#[test]
fn a_terminal_receives_no_control_character_from_the_server() {
    let (world, _) = world_with_hostile_user();
    for args in [
        &["users", "get", "--login", "eve_hostile"][..],
        &["users", "find", "--full-name", "Evel"],
        &["--json", "users", "get", "--login", "eve_hostile"],
    ] {
        let run = in_terminal(&world, args, &[]);
        assert_eq!(run.code, 0, "{run:#?}");
        // The pseudo-terminal turns each line break into CR LF.
        let screen = run.stdout.replace("\r\n", "\n");
        assert!(
            !screen.chars().any(unsafe_char),
            "{args:?} reached the terminal raw: {screen:?}"
        );
        assert!(screen.contains("Evelyn"), "{screen:?}");
    }
}

#[test]
fn json_escapes_them_too_and_reads_back_the_same() {
    let (world, id) = world_with_hostile_user();
    let one = world
        .cube(&["--json", "users", "get", &id.to_string()])
        .ok();
    let lines = world
        .cube(&["--json", "users", "find", "--ids", &id.to_string()])
        .ok();
    for raw in [&one.stdout, &lines.stdout] {
        assert!(!raw.chars().any(unsafe_char), "{raw:?}");
        // serde_json's own escapes for C0; ours for DEL, C1 and bidi.
        for escape in [
            r"\u001b[2J",
            r"\u0007",
            r"\r",
            r"\u009b",
            r"\u007f",
            r"\u202e",
        ] {
            assert!(raw.contains(escape), "{escape} in {raw:?}");
        }
    }
    assert_eq!(one.json()["full_name"], HOSTILE);
    assert_eq!(lines.json_lines()[0]["full_name"], HOSTILE);
}
