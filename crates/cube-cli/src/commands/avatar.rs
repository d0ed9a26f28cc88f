//! `cube avatar set` and `cube avatar get`: files streamed through the SDK,
//! never held in memory, with a progress bar on a terminal.

use super::Invocation;
use crate::cli::AvatarCommand;
use crate::error::{Failure, Result};
use crate::output::human_size;
use crate::progress;
use crate::session::{Connected, Restore};
use cube_blocking::{DownloadOptions, UploadOptions, User, UserUpdate};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

pub(super) fn run(ctx: &Invocation, command: AvatarCommand) -> Result<()> {
    match command {
        AvatarCommand::Set {
            file,
            public,
            any_file,
        } => set(ctx, &file, public, any_file),
        AvatarCommand::Get { user, out } => get(ctx, user.as_deref(), &out),
    }
}

fn set(ctx: &Invocation, path: &Path, public: bool, any_file: bool) -> Result<()> {
    let cannot_read =
        |e: std::io::Error| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(cannot_read)?;
    if !meta.is_file() {
        return Err(Failure::usage(format!("{} is not a file", path.display())));
    }
    // Every user of the app can download an avatar: only an image goes
    // unless the user insists.
    let image = crate::image::file_image_type(path).map_err(cannot_read)?;
    if image.is_none() && !any_file {
        return Err(Failure::usage(format!(
            "{} is not an image (PNG, JPEG, GIF, WebP, AVIF or HEIC/HEIF, told by its first \
             bytes), and every user of the app can download an avatar: pass --any-file to \
             upload it anyway",
            path.display()
        )));
    }
    let conn = ctx.connect(Restore::Ask)?;
    conn.require_user()?;
    let bar = progress::bar(&format!("uploading {}", path.display()), Some(meta.len()));
    let mut options = UploadOptions::new()
        .public(public)
        .on_progress(|sent, total| {
            progress::show(bar.as_ref(), sent, Some(total));
            ControlFlow::Continue(())
        });
    // The type the content has, whatever the file's name says.
    if let Some(image) = image {
        options = options.content_type(image);
    }
    if let Some(idle) = conn.timeout() {
        options = options.idle_timeout(idle);
    }
    let uploaded = conn.client.upload_from_path(path, options);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let blob = uploaded.map_err(|e| conn.failure(e))?;
    let uid = blob
        .uid
        .clone()
        .ok_or_else(|| Failure::refused("the server gave the file no uid"))?;
    if let Err(e) = conn
        .client
        .update_user(UserUpdate::new().avatar(uid.clone()))
    {
        // The file is nobody's avatar: do not leave it behind.
        let _ = conn.client.delete_blob(blob.id);
        return Err(conn.failure(e));
    }
    let size = blob.size.unwrap_or(meta.len());
    ctx.out.result(
        json!({"uid": uid, "blob_id": blob.id, "size": size, "public": public}),
        &format!(
            "Avatar set: {} ({}, uid {uid})",
            path.display(),
            human_size(size)
        ),
    )
}

fn get(ctx: &Invocation, user: Option<&str>, out: &Path) -> Result<()> {
    let to_stdout = out == Path::new("-");
    // Another user's file is not written raw onto a terminal, which its
    // bytes could drive.
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "standard output is a terminal, which the file's bytes would garble: \
             pipe or redirect it (`> face.png`), or give --out FILE",
        ));
    }
    let conn = ctx.connect(Restore::Ask)?;
    let user = find_user(&conn, user)?;
    let uid = user
        .avatar
        .clone()
        .ok_or_else(|| Failure::refused(format!("user {} has no avatar", user.id)))?;
    if uid.contains("://") {
        return Err(Failure::refused(format!(
            "the avatar of user {} is a link, not a stored file: {uid}",
            user.id
        )));
    }
    let bar = progress::bar("downloading", None);
    let mut options = DownloadOptions::new().on_progress(|got, total| {
        progress::show(bar.as_ref(), got, total);
        ControlFlow::Continue(())
    });
    if let Some(idle) = conn.timeout() {
        options = options.idle_timeout(idle);
    }
    let written = if to_stdout {
        let mut stdout = std::io::stdout().lock();
        conn.client
            .download_blob_to(&uid, &mut stdout, options)
            .map_err(|e| conn.failure(e))
    } else {
        download_to_file(&conn, &uid, out, options)
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let size = written?;
    if to_stdout {
        return Ok(());
    }
    ctx.out.result(
        json!({"user_id": user.id, "uid": uid, "file": out.display().to_string(), "size": size}),
        &format!(
            "Saved the avatar of user {} to {} ({})",
            user.id,
            out.display(),
            human_size(size)
        ),
    )
}

/// Downloads into a fresh file beside `out`, renamed over it only once
/// complete: a failed download leaves what was there.
fn download_to_file(
    conn: &Connected,
    uid: &str,
    out: &Path,
    options: DownloadOptions<'_>,
) -> Result<u64> {
    let name = out
        .file_name()
        .ok_or_else(|| Failure::usage(format!("--out {} names no file", out.display())))?;
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
    let temp: PathBuf = dir.unwrap_or(Path::new(".")).join(format!(
        ".{}.{}.part",
        name.to_string_lossy(),
        std::process::id()
    ));
    let cannot_write =
        |e: std::io::Error| Failure::refused(format!("cannot write {}: {e}", out.display()));
    let mut file = std::fs::File::create(&temp).map_err(cannot_write)?;
    let written = (|| {
        let mut writer = std::io::BufWriter::new(&mut file);
        let size = conn
            .client
            .download_blob_to(uid, &mut writer, options)
            .map_err(|e| conn.failure(e))?;
        writer.flush().map_err(cannot_write)?;
        drop(writer);
        file.sync_all().map_err(cannot_write)?;
        std::fs::rename(&temp, out).map_err(cannot_write)?;
        Ok(size)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The user named (an id, else a login), or the signed-in one.
fn find_user(conn: &Connected, user: Option<&str>) -> Result<User> {
    let (found, asked) = match user {
        None => {
            let id = conn.require_user()?;
            (conn.client.get_user(id), format!("id {id}"))
        }
        Some(text) => match text.parse::<u64>() {
            Ok(id) => (conn.client.get_user(id), format!("id {id}")),
            Err(_) => (
                conn.client.get_user_by_login(text),
                format!("login {text:?}"),
            ),
        },
    };
    found
        .map_err(|e| conn.failure(e))?
        .ok_or_else(|| Failure::refused(format!("no user with {asked}")))
}
