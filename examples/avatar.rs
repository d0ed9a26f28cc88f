//! The avatar recipe: upload an image, declare it uploaded, make its uid the
//! user's `avatar`, and let another user fetch it through their own URL.

use cube_blocking::Credentials;
use cube_blocking::proto::ops::NewUser;
use cube_examples::{Target, step};
use std::error::Error;
use std::io::Read;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let (alice, bob) = (target.unique("ava"), target.unique("bob"));
    let owner = target.blocking().build()?;
    owner.sign_up(NewUser::with_login(&alice, "avatar-password"))?;
    owner.create_session(Credentials::login(&alice, "avatar-password"))?;

    step(1, "upload the image, complete it, and link it to the user");
    let image = b"\x89PNG\r\n\x1a\n pretend these are pixels".to_vec();
    let (blob, user) = owner.set_avatar("image/png", "me.png", image.clone())?;
    let uid = user.avatar.clone().ok_or("the avatar was not set")?;
    println!(
        "    blob {} uid {uid}; user {} has it as avatar",
        blob.id, user.id
    );

    step(
        2,
        "another user finds the avatar and fetches it with their own token",
    );
    let viewer = target.blocking().build()?;
    viewer.sign_up(NewUser::with_login(&bob, "viewer-password"))?;
    viewer.create_session(Credentials::login(&bob, "viewer-password"))?;
    let seen = viewer.get_user(user.id)?.ok_or("the owner was not found")?;
    let url = viewer
        .blob_private_url(seen.avatar.as_deref().ok_or("no avatar")?)?
        .ok_or("the viewer's session is not valid")?;
    let mut bytes = Vec::new();
    ureq::get(&url)
        .call()?
        .into_body()
        .into_reader()
        .read_to_end(&mut bytes)?;
    println!(
        "    fetched {} bytes; identical: {}",
        bytes.len(),
        bytes == image
    );
    if bytes != image {
        return Err("the fetched avatar differs from the upload".into());
    }
    println!("avatar finished");
    Ok(())
}
