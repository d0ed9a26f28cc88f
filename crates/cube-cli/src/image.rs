//! Whether a file is an image, told by its first bytes, never by its name:
//! every user of the app can download an avatar, so `cube avatar set`
//! uploads only what an avatar can be (a private key renamed `face.png`
//! is not one).
//!
//! The formats are the ones apps show as pictures: PNG, JPEG, GIF, WebP,
//! and AVIF and HEIC/HEIF (what phones take photos in). Not SVG: it is text
//! that can carry scripts. Not BMP, TIFF or ICO: rare as avatars, and
//! BMP's two-byte mark (`BM`) would let too much through.

use std::io::Read;
use std::path::Path;

/// How many bytes of a file tell its format.
const HEAD: u64 = 16;

/// The brands of an ISO media file (`ftyp` box) that mark an AVIF or a
/// HEIF image.
const IMAGE_BRANDS: [&[u8; 4]; 10] = [
    b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// The MIME type of the image `head` (a file's first bytes) starts, or
/// `None` when it is not one of the formats an avatar can be.
pub(crate) fn image_type(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        match IMAGE_BRANDS.iter().find(|b| b.as_slice() == brand) {
            Some(b) if b.starts_with(b"avi") => Some("image/avif"),
            Some(_) => Some("image/heic"),
            None => None,
        }
    } else {
        None
    }
}

/// The MIME type of the image file at `path`, `None` when it is not one.
pub(crate) fn file_image_type(path: &Path) -> std::io::Result<Option<&'static str>> {
    let mut head = Vec::with_capacity(HEAD as usize);
    std::fs::File::open(path)?
        .take(HEAD)
        .read_to_end(&mut head)?;
    Ok(image_type(&head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(start: &[u8]) -> Vec<u8> {
        let mut bytes = start.to_vec();
        bytes.resize(HEAD as usize, 0);
        bytes
    }

    #[test]
    fn each_avatar_format_is_told_by_its_first_bytes() {
        for (start, kind) in [
            (&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], "image/png"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
            (b"\xff\xd8\xff\xe1\0\x10Exif", "image/jpeg"),
            (b"GIF87a", "image/gif"),
            (b"GIF89a", "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
            (b"\0\0\0\x1cftypavif", "image/avif"),
            (b"\0\0\0\x18ftypheic", "image/heic"),
            (b"\0\0\0\x18ftypmif1", "image/heic"),
        ] {
            assert_eq!(image_type(&padded(start)), Some(kind), "{start:?}");
        }
    }

    #[test]
    fn other_files_are_not_images() {
        for start in [
            &b"-----BEGIN OPENSSH PRIVATE KEY-----"[..],
            b"",
            b"\x89PNG",
            b"\xff\xd8",
            b"GIF88a",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"\0\0\0\x18ftypisom",
            b"\0\0\0\x18ftypqt  ",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\">",
            b"BM\x36\0\0\0",
            b"%PDF-1.7",
            b"PK\x03\x04",
        ] {
            assert_eq!(image_type(start), None, "{start:?}");
        }
        assert_eq!(image_type(&[0; 16]), None);
    }
}
