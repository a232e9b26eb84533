//! Reading package zips back: opening an entry (decrypting when a password
//! is given), reading it whole under a size limit, and telling a wrong or
//! missing password from a broken zip.
//!
//! Shared by the checker and by [`crate::mail::dispatch`], which reads the
//! expected ids from a package's manifest.

use crate::mail::package::findings::FindingKind;
use crate::mail::package::password::Password;
use std::io::{Read, Seek};
use zip::ZipArchive;

/// Reads a whole entry, at most `limit` bytes; `Ok(None)` when over the limit.
pub(crate) fn read_limited(r: &mut impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

/// Maps a zip read error to a finding kind.
pub(crate) fn zip_error_kind(e: &zip::result::ZipError) -> FindingKind {
    match e {
        zip::result::ZipError::InvalidPassword => FindingKind::WrongPassword,
        zip::result::ZipError::UnsupportedArchive(m)
            if *m == zip::result::ZipError::PASSWORD_REQUIRED =>
        {
            FindingKind::PasswordRequired
        }
        _ => FindingKind::Unreadable,
    }
}

/// Opens entry `i` (decrypting with the password when given).
pub(crate) fn open_entry<'a, R: Read + Seek>(
    zip: &'a mut ZipArchive<R>,
    i: usize,
    password: Option<&Password>,
) -> zip::result::ZipResult<zip::read::ZipFile<'a, R>> {
    match password {
        Some(p) => zip.by_index_decrypt(i, p.expose().as_bytes()),
        None => zip.by_index(i),
    }
}
