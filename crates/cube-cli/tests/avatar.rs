//! `cube avatar set|get`: streamed files, a progress bar on a terminal,
//! bounded memory, and the 100 MiB limit.

mod common;

use common::{PNG_SIGNATURE, World, in_terminal, sparse_image};

const PASSWORD: &str = "avatar-pass-4410";
const MIB: u64 = 1024 * 1024;

#[test]
fn set_and_get_an_avatar_in_both_modes() {
    let world = World::new("avatar");
    let id = world.signed_in("vera", PASSWORD);
    let image: Vec<u8> = PNG_SIGNATURE
        .iter()
        .copied()
        .chain((8..300_000u32).map(|i| (i * 7 % 251) as u8))
        .collect();
    let file = world.dir.0.join("face.png");
    std::fs::write(&file, &image).unwrap();

    let set = world.cube(&["avatar", "set", "face.png"]).ok();
    assert!(
        set.stdout
            .starts_with("Avatar set: face.png (293.0 KiB, uid "),
        "{set:#?}"
    );
    assert_eq!(set.stderr, "", "no progress bar without a terminal");
    let me = world.cube(&["--json", "whoami"]).ok().json();
    let uid = me["avatar"].as_str().unwrap().to_owned();
    assert!(set.stdout.contains(&uid));

    let got = world.cube(&["avatar", "get", "--out", "mine.png"]).ok();
    assert!(got.stdout.contains("Saved the avatar of user"), "{got:#?}");
    assert_eq!(std::fs::read(world.dir.0.join("mine.png")).unwrap(), image);

    // Another user reads it by login and by id, as JSON or to stdout.
    world.signed_in("walt", PASSWORD);
    let json = world
        .cube(&["--json", "avatar", "get", "vera", "-o", "hers.png"])
        .ok()
        .json();
    assert_eq!(json["uid"], uid.as_str());
    assert_eq!(json["size"], image.len());
    assert_eq!(std::fs::read(world.dir.0.join("hers.png")).unwrap(), image);
    let mut command = world.command();
    command.args(["avatar", "get", &id.to_string(), "--out", "-"]);
    command.stdout(std::process::Stdio::piped());
    let raw = command.output().unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout, image);

    let json = world
        .cube(&["--json", "avatar", "set", "face.png", "--public"])
        .ok()
        .json();
    assert_eq!(json["public"], true);
    assert_eq!(json["size"], image.len());
}

#[test]
fn what_avatar_refuses() {
    let world = World::new("avatar-no");
    let id = world.signed_in("xena", PASSWORD);
    let none = world.cube(&["avatar", "get", "--out", "x.png"]).fails(1);
    assert!(none.stderr.contains("has no avatar"), "{none:#?}");
    assert!(!world.dir.0.join("x.png").exists());
    world
        .cube(&["avatar", "get", "nobody_at_all", "--out", "x.png"])
        .fails(1);
    let missing = world.cube(&["avatar", "set", "missing.png"]).fails(2);
    assert!(missing.stderr.contains("missing.png"), "{missing:#?}");
    world.cube(&["avatar", "set", "."]).fails(2);
    world.cube(&["avatar", "get"]).fails(2);

    // One byte past the storage's 100 MiB: refused before any upload.
    sparse_image(&world.dir.0.join("huge.png"), 100 * MIB + 1);
    let huge = world.cube(&["avatar", "set", "huge.png"]).fails(2);
    assert!(huge.stderr.contains("100"), "{huge:#?}");
    let me = world
        .cube(&["--json", "users", "get", &id.to_string()])
        .ok()
        .json();
    assert!(me["avatar"].is_null());

    world.cube(&["logout"]).ok();
    let signed_out = world.cube(&["avatar", "set", "huge.png"]).fails(1);
    assert!(
        signed_out.stderr.contains("not signed in"),
        "{signed_out:#?}"
    );
}

/// Must-show 3: 100 MiB (the limit) from a terminal shows a progress bar
/// and keeps the process's peak memory under 32 MiB.
#[test]
fn a_100_mib_avatar_on_a_terminal_shows_progress_in_little_memory() {
    let world = World::new("avatar-big");
    world.signed_in("yuri", PASSWORD);
    sparse_image(&world.dir.0.join("big.png"), 100 * MIB);

    let run = in_terminal(
        &world,
        &["avatar", "set", "big.png", "--report-peak-memory"],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let screen = run.stdout.replace('\r', "\n");
    let frames: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("uploading big.png ["))
        .collect();
    assert!(frames.len() >= 3, "the bar moved: {screen}");
    assert!(frames.iter().any(|f| f.contains("/100.00 MiB")), "{screen}");
    assert!(
        screen.contains("Avatar set: big.png (100.0 MiB"),
        "{screen}"
    );

    let peak_kib: u64 = screen
        .lines()
        .find_map(|l| l.strip_prefix("cube: peak memory "))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in {screen}"));
    println!("peak memory of `cube avatar set` (100 MiB): {peak_kib} KiB");
    assert!(peak_kib < 32 * 1024, "peak {peak_kib} KiB");

    // The whole file arrived.
    let me = world.cube(&["--json", "whoami"]).ok().json();
    assert!(me["avatar"].is_string());
    let got = world
        .cube(&["--json", "avatar", "get", "--out", "back.png"])
        .ok()
        .json();
    assert_eq!(got["size"], 100 * MIB);
    let back = world.dir.0.join("back.png");
    assert_eq!(std::fs::metadata(&back).unwrap().len(), 100 * MIB);
    std::fs::remove_file(back).unwrap();
}

/// A private key is not an avatar: a file that is not an image by its
/// first bytes is refused whatever its name, before any upload, unless
/// `--any-file` insists. An image of each format is taken, and stored
/// with its own type whatever its name says.
#[test]
fn a_file_that_is_not_an_image_is_refused_unless_insisted() {
    let world = World::new("avatar-image");
    let id = world.signed_in("zara", PASSWORD);
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n";
    for name in ["id_ed25519", "face.png", "empty.jpg"] {
        let text = if name == "empty.jpg" { "" } else { key };
        std::fs::write(world.dir.0.join(name), text).unwrap();
        let run = world.cube(&["avatar", "set", name]).fails(2);
        assert!(
            run.stderr.contains(&format!("{name} is not an image"))
                && run.stderr.contains("--any-file"),
            "{run:#?}"
        );
    }
    let me = world.cube(&["--json", "whoami"]).ok().json();
    assert!(me["avatar"].is_null(), "nothing was uploaded: {me}");

    let insisted = world
        .cube(&["--json", "avatar", "set", "id_ed25519", "--any-file"])
        .ok()
        .json();
    assert!(insisted["uid"].is_string(), "{insisted}");

    for (name, head, expected) in [
        ("a.png", PNG_SIGNATURE, "image/png"),
        ("b.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0", "image/jpeg"),
        ("c.gif", b"GIF89a\x01\0\x01\0", "image/gif"),
        ("d.webp", b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
        ("e.avif", b"\0\0\0\x1cftypavif\0\0\0\0", "image/avif"),
        ("f.heic", b"\0\0\0\x18ftypheic\0\0\0\0", "image/heic"),
        // A JPEG named .png is an image, of its own type.
        ("g.png", b"\xff\xd8\xff\xe1\0\x10Exif\0", "image/jpeg"),
    ] {
        let mut bytes = head.to_vec();
        bytes.resize(2048, 7);
        std::fs::write(world.dir.0.join(name), &bytes).unwrap();
        let set = world.cube(&["--json", "avatar", "set", name]).ok().json();
        let record: serde_json::Value = ureq::get(&format!(
            "{}/blobs/{}",
            world.emulator.base_url(),
            set["blob_id"]
        ))
        .header("CB-Token", &world.saved_token("default"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
        let stored = record["blob"]["content_type"].as_str().unwrap_or_default();
        assert_eq!(stored, expected, "{name}: {record}");
        let got = world
            .cube(&["avatar", "get", &id.to_string(), "--out", "back"])
            .ok();
        assert!(got.stdout.contains("2.0 KiB"), "{name}: {got:#?}");
        assert_eq!(std::fs::read(world.dir.0.join("back")).unwrap(), bytes);
    }
}

/// Another user's file is not written raw onto a terminal.
#[test]
fn an_avatar_is_not_written_onto_a_terminal() {
    let world = World::new("avatar-tty");
    world.signed_in("yves", PASSWORD);
    let mut bytes = PNG_SIGNATURE.to_vec();
    bytes.extend_from_slice(b"\x1b[2J\x1b]52;c;aGk=\x07");
    std::fs::write(world.dir.0.join("face.png"), &bytes).unwrap();
    world.cube(&["avatar", "set", "face.png"]).ok();
    let run = in_terminal(&world, &["avatar", "get", "yves", "--out", "-"], &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(!run.stdout.contains('\u{1b}'), "{run:#?}");
    assert!(
        run.stdout.contains("standard output is a terminal"),
        "{run:#?}"
    );
}
