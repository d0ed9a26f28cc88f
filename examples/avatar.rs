//! The avatar recipe: stream an image from disk with progress, make its uid
//! the user's `avatar`, and let another user read it back through the SDK
//! (`download_blob`: their own session, no second HTTP client).

use cube_blocking::{Credentials, NewUser, UploadOptions, UserUpdate};
use cube_examples::{Target, step};
use std::error::Error;
use std::ops::ControlFlow;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let (alice, bob) = (target.unique("ava"), target.unique("bob"));
    let owner = target.blocking().build()?;
    owner.sign_up(NewUser::with_login(&alice, "avatar-password"))?;
    owner.create_session(Credentials::login(&alice, "avatar-password"))?;

    step(
        1,
        "stream the image from disk, with progress; its type comes from its name",
    );
    let image: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..256 * 1024u32).map(|i| (i % 251) as u8))
        .collect();
    let path = std::env::temp_dir().join(format!("{alice}.png"));
    std::fs::write(&path, &image)?;
    let mut last_percent = 0;
    let blob = owner.upload_from_path(
        &path,
        UploadOptions::new().on_progress(|sent, total| {
            let percent = (sent * 100).checked_div(total).unwrap_or(100);
            if percent >= last_percent + 25 || sent == total {
                println!("    {sent} of {total} bytes ({percent}%)");
                last_percent = percent;
            }
            ControlFlow::Continue(())
        }),
    );
    std::fs::remove_file(&path)?;
    let blob = blob?;
    let uid = blob.uid.clone().ok_or("the file has no uid")?;
    println!(
        "    blob {} uid {uid}, {}",
        blob.id,
        blob.content_type.as_deref().unwrap_or("?")
    );

    step(2, "make it the user's avatar");
    let user = owner.update_user(UserUpdate::new().avatar(uid.clone()))?;
    println!("    user {} has avatar {:?}", user.id, user.avatar);

    step(
        3,
        "another user finds the avatar and reads it through the SDK",
    );
    let viewer = target.blocking().build()?;
    viewer.sign_up(NewUser::with_login(&bob, "viewer-password"))?;
    viewer.create_session(Credentials::login(&bob, "viewer-password"))?;
    let seen = viewer.get_user(user.id)?.ok_or("the owner was not found")?;
    let bytes = viewer.download_blob(seen.avatar.as_deref().ok_or("no avatar")?)?;
    println!(
        "    read {} bytes; identical: {}",
        bytes.len(),
        bytes == image
    );
    if bytes != image {
        return Err("the avatar read back differs from the upload".into());
    }
    println!("avatar finished");
    Ok(())
}
