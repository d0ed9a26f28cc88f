//! `cube signup`, `users get|find|search|update|delete-me`, `passwd`,
//! `reset-password`: both output modes and the exit statuses.

mod common;

use common::{World, in_terminal};
use serde_json::Value;

const PASSWORD: &str = "users-pass-8821";

/// The value of a `name  value` row of a table.
fn field(stdout: &str, name: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        rest.starts_with("  ").then(|| rest.trim().to_owned())
    })
}

fn ids(lines: &[Value]) -> Vec<u64> {
    lines.iter().map(|u| u["id"].as_u64().unwrap()).collect()
}

/// Signs up `login` with a full name and tags; returns its id.
fn sign_up(world: &World, login: &str, full_name: &str, tags: &str) -> u64 {
    let user = world
        .cube_in(
            &[
                "--json",
                "signup",
                "--login",
                login,
                "--password-stdin",
                "--full-name",
                full_name,
                "--tags",
                tags,
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok()
        .json();
    user["id"].as_u64().unwrap()
}

#[test]
fn signup_in_both_modes_and_what_it_refuses() {
    let world = World::new("signup");
    let table = world
        .cube_in(
            &[
                "signup",
                "--login",
                "kim_1",
                "--password-stdin",
                "--phone",
                "+4470",
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    assert!(table.stdout.starts_with("Signed up user "), "{table:#?}");
    assert!(
        table.stdout.contains("cube login --login kim_1"),
        "{table:#?}"
    );
    let json = world
        .cube_in(
            &[
                "--json",
                "signup",
                "--email",
                "kim@example.com",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok()
        .json();
    assert_eq!(json["email"], "kim@example.com");
    let both = world
        .cube_in(
            &[
                "--json",
                "signup",
                "--login",
                "kim_both",
                "--email",
                "kb@example.com",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .ok()
        .json();
    assert_eq!(
        (both["login"].as_str(), both["email"].as_str()),
        (Some("kim_both"), Some("kb@example.com"))
    );

    let taken = world
        .cube_in(
            &["signup", "--login", "kim_1", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .fails(1);
    assert!(
        taken.stderr.contains("login has already been taken"),
        "{taken:#?}"
    );
    // Refused by the SDK before sending: a usage error.
    let short = world
        .cube_in(
            &["signup", "--login", "kim_2", "--password-stdin"],
            "short\n",
        )
        .fails(2);
    assert!(short.stderr.contains("password"), "{short:#?}");
    world.cube(&["signup", "--password-stdin"]).fails(2);
}

#[test]
fn users_get_by_each_key_in_both_modes() {
    let world = World::new("get");
    let id = sign_up(&world, "lena_g", "Lena Gray", "ops");
    world
        .cube_in(
            &["login", "--login", "lena_g", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    world
        .cube(&[
            "users",
            "update",
            "--email",
            "lena@example.com",
            "--external-id",
            "ext-9",
        ])
        .ok();

    let table = world.cube(&["users", "get", &id.to_string()]).ok();
    assert_eq!(
        field(&table.stdout, "full name").as_deref(),
        Some("Lena Gray"),
        "{table:#?}"
    );
    assert_eq!(
        field(&table.stdout, "external id").as_deref(),
        Some("ext-9"),
        "{table:#?}"
    );
    for args in [
        vec!["users", "get", "--login", "lena_g"],
        vec!["users", "get", "--email", "lena@example.com"],
        vec!["users", "get", "--external-id", "ext-9"],
    ] {
        let user = world.cube(&[&["--json"], &args[..]].concat()).ok().json();
        assert_eq!(user["id"].as_u64(), Some(id), "{args:?}");
        assert_eq!(user["external_id"], "ext-9");
    }
    let missing = world
        .cube(&["users", "get", "--login", "nobody_here"])
        .fails(1);
    assert!(
        missing.stderr.contains("no user with login"),
        "{missing:#?}"
    );
    world.cube(&["users", "get", "999999"]).fails(1);
    world.cube(&["users", "get"]).fails(2);
    world.cube(&["users", "get", "1", "--login", "x"]).fails(2);
}

#[test]
fn users_find_by_ids_tags_name_and_phone() {
    let world = World::new("find");
    let a = sign_up(&world, "mona_a", "Mona Alpha", "red,blue");
    let b = sign_up(&world, "mona_b", "Mona Beta", "blue");
    let c = sign_up(&world, "nils_c", "Nils Gamma", "green");
    world
        .cube_in(
            &["login", "--login", "nils_c", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    world
        .cube(&["users", "update", "--phone", "+15550100"])
        .ok();

    // Any number of ids, in the order given.
    let order = format!("{c},{a},{b}");
    let found = world
        .cube(&["--json", "users", "find", "--ids", &order])
        .ok();
    assert_eq!(ids(&found.json_lines()), [c, a, b]);
    let tagged = world
        .cube(&["--json", "users", "find", "--tags", "blue", "--sort", "id"])
        .ok();
    assert_eq!(ids(&tagged.json_lines()), [a, b]);
    let named = world
        .cube(&["--json", "users", "find", "--full-name", "Mona"])
        .ok();
    let mut named = ids(&named.json_lines());
    named.sort();
    assert_eq!(named, [a, b]);
    let phone = world
        .cube(&["--json", "users", "find", "--phone", "+15550100"])
        .ok();
    assert_eq!(ids(&phone.json_lines()), [c]);
    let paged = world
        .cube(&[
            "--json", "users", "find", "--ids", &order, "--sort", "-id", "--limit", "2",
        ])
        .ok();
    assert_eq!(ids(&paged.json_lines()), [c, b]);

    let table = world.cube(&["users", "find", "--tags", "blue"]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("ID  LOGIN "), "{table:#?}");
    assert_eq!(lines.len(), 3, "{table:#?}");
    let none = world.cube(&["users", "find", "--tags", "purple"]).ok();
    assert_eq!(none.stdout, "No users found.\n");
    assert_eq!(
        world
            .cube(&["--json", "users", "find", "--tags", "purple"])
            .ok()
            .stdout,
        ""
    );
    world.cube(&["users", "find"]).fails(2);
    world
        .cube(&["users", "find", "--tags", "a", "--phone", "1"])
        .fails(2);
}

#[test]
fn users_search_with_filters_pages_and_every_page() {
    let world = World::new("search");
    let mut made = Vec::new();
    for i in 0..12 {
        made.push(sign_up(&world, &format!("pager_{i:02}"), "Pager", "pages"));
    }
    sign_up(&world, "other_x", "Other", "pages");

    let all = world
        .cube(&[
            "--json",
            "users",
            "search",
            "--where",
            "login start_with pager",
            "--where",
            "created_at gt 2020-01-01",
            "--sort",
            "-id",
            "--all",
        ])
        .ok();
    let mut expected = made.clone();
    expected.reverse();
    assert_eq!(
        ids(&all.json_lines()),
        expected,
        "start_with pages of 5, all of them"
    );

    let page = world
        .cube(&[
            "--json",
            "users",
            "search",
            "--where",
            "user_tags in pages",
            "--sort",
            "id",
            "--limit",
            "4",
            "--offset",
            "4",
        ])
        .ok();
    assert_eq!(ids(&page.json_lines()), made[4..8]);

    let table = world
        .cube(&[
            "users",
            "search",
            "--where",
            "tags = pages",
            "--sort",
            "id",
            "--limit",
            "5",
        ])
        .ok();
    assert_eq!(table.stdout.lines().count(), 6, "{table:#?}");
    assert!(
        table.stderr.contains("Showing users 1-5 of 13"),
        "{table:#?}"
    );

    let every = world
        .cube(&[
            "users",
            "search",
            "--where",
            "tags = pages",
            "--limit",
            "5",
            "--all",
        ])
        .ok();
    let lines: Vec<&str> = every.stdout.lines().collect();
    assert_eq!(lines.len(), 14, "one header and 13 rows: {every:#?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("ID ")).count(), 1);

    // The limit's bounds, and the server's rules checked before sending.
    world
        .cube(&["users", "search", "--where", "id in 1", "--limit", "100"])
        .ok();
    world
        .cube(&["users", "search", "--where", "id in 1", "--limit", "101"])
        .fails(2);
    world
        .cube(&["users", "search", "--where", "id in 1", "--limit", "0"])
        .fails(2);
    let dates = world
        .cube(&["users", "search", "--where", "created_at gt 2020-01-01"])
        .fails(2);
    assert!(dates.stderr.contains("would be refused"), "{dates:#?}");
    let short = world
        .cube(&["users", "search", "--where", "login start_with abc"])
        .fails(2);
    assert!(short.stderr.contains("4"), "{short:#?}");
    let bad = world
        .cube(&["users", "search", "--where", "nick eq x"])
        .fails(2);
    assert!(bad.stderr.contains("unknown field"), "{bad:#?}");
    world
        .cube(&["users", "search", "--where", "id in 1", "--sort", "-nick"])
        .fails(2);
    world.cube(&["users", "search"]).fails(2);
}

#[test]
fn users_update_in_both_modes() {
    let world = World::new("update");
    world.signed_in("olga", PASSWORD);
    let table = world
        .cube(&[
            "users",
            "update",
            "--full-name",
            "Olga O",
            "--tags",
            "a,b",
            "--website",
            "https://olga.example",
        ])
        .ok();
    assert_eq!(
        field(&table.stdout, "tags").as_deref(),
        Some("a,b"),
        "{table:#?}"
    );
    let json = world
        .cube(&[
            "--json",
            "users",
            "update",
            "--custom-data",
            "{\"k\":1}",
            "--login",
            "olga_2",
        ])
        .ok()
        .json();
    assert_eq!(json["login"], "olga_2");
    assert_eq!(json["full_name"], "Olga O");
    assert_eq!(json["custom_data"], "{\"k\":1}");
    world.cube(&["users", "update"]).fails(2);
    let taken = {
        world
            .cube_in(
                &["signup", "--login", "taken_1", "--password-stdin"],
                &format!("{PASSWORD}\n"),
            )
            .ok();
        world
            .cube(&["users", "update", "--login", "taken_1"])
            .fails(1)
    };
    assert!(taken.stderr.contains("already been taken"), "{taken:#?}");
    world.cube(&["logout"]).ok();
    let signed_out = world
        .cube(&["users", "update", "--full-name", "X"])
        .fails(1);
    assert!(
        signed_out.stderr.contains("not signed in"),
        "{signed_out:#?}"
    );
}

#[test]
fn passwd_changes_the_password() {
    let world = World::new("passwd");
    world.signed_in("pete", PASSWORD);
    let new = "a-new-password-77";
    let wrong = world
        .cube_in(
            &["passwd", "--password-stdin"],
            &format!("not-the-old-one\n{new}\n"),
        )
        .fails(1);
    assert!(!wrong.all().contains(new));
    let done = world
        .cube_in(
            &["--json", "passwd", "--password-stdin"],
            &format!("{PASSWORD}\n{new}\n"),
        )
        .ok()
        .json();
    assert_eq!(done["password_changed"], true);
    world
        .cube_in(
            &["login", "--login", "pete", "--password-stdin"],
            &format!("{new}\n"),
        )
        .ok();
    world
        .cube_in(
            &["login", "--login", "pete", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .fails(1);
    let one_line = world
        .cube_in(&["passwd", "--password-stdin"], &format!("{new}\n"))
        .fails(2);
    assert!(one_line.stderr.contains("line 2 of 2"), "{one_line:#?}");
}

#[test]
fn passwd_on_a_terminal_asks_for_the_new_one_twice() {
    let world = World::new("passwd-tty");
    world.signed_in("quinn", PASSWORD);
    let new = "terminal-password-5";
    let run = in_terminal(
        &world,
        &["passwd"],
        &[
            ("Current password: ", PASSWORD),
            ("New password: ", new),
            ("Repeat it: ", new),
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        !run.all().contains(new) && !run.all().contains(PASSWORD),
        "{run:#?}"
    );
    world
        .cube_in(
            &["login", "--login", "quinn", "--password-stdin"],
            &format!("{new}\n"),
        )
        .ok();
    let differ = in_terminal(
        &world,
        &["passwd"],
        &[
            ("Current password: ", new),
            ("New password: ", "first-one-123"),
            ("Repeat it: ", "second-one-123"),
        ],
    );
    assert_eq!(differ.code, 2, "{differ:#?}");
    assert!(differ.stdout.contains("differ"), "{differ:#?}");
}

#[test]
fn reset_password_sends_the_mail() {
    let world = World::new("reset");
    world
        .cube_in(
            &["signup", "--email", "rita@example.com", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        )
        .ok();
    let run = world.cube(&["reset-password", "rita@example.com"]).ok();
    assert!(run.stdout.contains("rita@example.com"), "{run:#?}");
    let json = world
        .cube(&["--json", "reset-password", "rita@example.com"])
        .ok()
        .json();
    assert_eq!(json["reset_requested"], true);
    let outbox = world.admin_get("/outbox");
    let to: Vec<&str> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["to"].as_str())
        .collect();
    assert_eq!(to, ["rita@example.com", "rita@example.com"]);
    world.cube(&["reset-password", " "]).fails(2);
}

#[test]
fn delete_me_asks_first() {
    let world = World::new("delete");
    let id = world.signed_in("sam", PASSWORD);
    let refused = world.cube(&["users", "delete-me"]).fails(2);
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");
    world.cube(&["users", "get", &id.to_string()]).ok();

    let no = in_terminal(&world, &["users", "delete-me"], &[("[y/N] ", "n")]);
    assert_eq!(no.code, 1, "{no:#?}");
    assert!(no.stdout.contains("not deleted"), "{no:#?}");
    world.cube(&["users", "get", &id.to_string()]).ok();

    let yes = in_terminal(&world, &["users", "delete-me"], &[("[y/N] ", "y")]);
    assert_eq!(yes.code, 0, "{yes:#?}");
    assert!(!world.session_file("default").exists());
    world.cube(&["users", "get", &id.to_string()]).fails(1);
}

#[test]
fn delete_me_with_yes_for_scripts() {
    let world = World::new("delete-yes");
    let id = world.signed_in("tess", PASSWORD);
    let json = world
        .cube(&["--json", "users", "delete-me", "--yes"])
        .ok()
        .json();
    assert_eq!(json["deleted_user_id"].as_u64(), Some(id));
    world.cube(&["users", "get", &id.to_string()]).fails(1);
    world.cube(&["users", "delete-me", "--yes"]).fails(1);
}

#[test]
fn the_external_user_id_is_a_number() {
    let world = World::new("external-user-id");
    let id = world.signed_in("uma", PASSWORD);
    let updated = world
        .cube(&["--json", "users", "update", "--external-user-id", "4242"])
        .ok()
        .json();
    assert_eq!(updated["external_user_id"], 4242, "{updated}");
    let table = world.cube(&["users", "get", &id.to_string()]).ok();
    assert_eq!(
        field(&table.stdout, "external user id").as_deref(),
        Some("4242"),
        "{table:#?}"
    );
    world
        .cube(&["users", "update", "--external-user-id", "ext-1"])
        .fails(2);
}
