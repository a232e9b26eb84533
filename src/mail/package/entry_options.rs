//! How every entry of a package zip is stored: the compression chosen by
//! the job, the batch's timestamp, permissions `0644`, and AES-256 when a
//! password is set. One place, so that documents and manifests are stored
//! alike.

use crate::job::Compression;
use crate::mail::package::options::PackageOptions;
use zip::write::FileOptions;
use zip::{AesMode, CompressionMethod, DateTime};

/// The options of every entry written under `opts`. PDFs are already
/// compressed, so `stored` is the usual choice; deflate runs at level 6.
pub(crate) fn entry_options(opts: &PackageOptions) -> FileOptions<'_, 'static, ()> {
    let (y, m, d) = opts.date;
    let date = DateTime::from_date_and_time(y, m, d, 0, 0, 0).unwrap_or_default();
    let (method, level) = match opts.compression {
        Compression::Stored => (CompressionMethod::Stored, None),
        Compression::Deflated => (CompressionMethod::Deflated, Some(6)),
    };
    let options = FileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(date)
        .unix_permissions(0o644);
    match &opts.password {
        Some(p) => options.with_aes_encryption(AesMode::Aes256, p.expose()),
        None => options,
    }
}
