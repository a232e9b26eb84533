//! What `verify` reports: the kinds of problem ([`FindingKind`], each with
//! its Japanese message and English gloss), the findings, the report, the
//! limits it checks with ([`VerifyOptions`]) and the rule for unsafe entry
//! names.
//!
//! Plain data; uses only the package [`Password`].

use crate::mail::package::password::Password;
use serde::Serialize;
use std::path::Path;

/// Limits and secrets for [`verify_path`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Password for encrypted packages.
    pub password: Option<Password>,
    /// Largest uncompressed entry accepted (zip-bomb guard).
    pub max_entry_bytes: u64,
    /// Largest total uncompressed size of one zip accepted.
    pub max_total_bytes: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            password: None,
            max_entry_bytes: 256 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024 * 1024,
        }
    }
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Listed in the manifest, not present.
    Missing,
    /// Present, not listed in the manifest.
    Extra,
    /// Present and listed, but its bytes differ from the manifest.
    Changed,
    /// An entry with an absolute path.
    AbsolutePath,
    /// An entry whose path goes up (`..`).
    ParentPath,
    /// An entry that is a symbolic link.
    Symlink,
    /// An entry (or a zip) larger than the limit.
    TooLarge,
    /// Two entries with the same name.
    DuplicateName,
    /// No manifest where one must be.
    ManifestMissing,
    /// A manifest that cannot be read.
    ManifestInvalid,
    /// `manifest.csv` and `manifest.json` disagree.
    ManifestMismatch,
    /// A manifest's own count disagrees with the documents it lists.
    ManifestCount,
    /// A package manifest's group, part or name disagrees with the zip's
    /// file name, with its documents or with `packages.json`.
    ManifestIdentity,
    /// Encrypted and no password given.
    PasswordRequired,
    /// Encrypted and the password is wrong.
    WrongPassword,
    /// The file is not a readable zip (or folder).
    Unreadable,
    /// Listed in `packages.json`, not present.
    PackageMissing,
    /// A zip whose hash or size differs from `packages.json`.
    PackageChanged,
    /// A zip next to `packages.json` that it does not list.
    PackageExtra,
}

impl FindingKind {
    /// The Japanese message with an English gloss.
    pub fn message(self) -> &'static str {
        match self {
            FindingKind::Missing => "マニフェストにある文書がありません (listed document is missing)",
            FindingKind::Extra => "マニフェストにないファイルがあります (file not listed in the manifest)",
            FindingKind::Changed => "内容がマニフェストと一致しません（改変または破損）(content differs from the manifest: altered or corrupt)",
            FindingKind::AbsolutePath => "絶対パスのエントリです（展開すると任意の場所に書かれます）(absolute path entry)",
            FindingKind::ParentPath => "親フォルダ（..）を指すエントリです（展開先の外に書かれます）(entry path escapes with '..')",
            FindingKind::Symlink => "シンボリックリンクです（文書の代わりに別のファイルを指せます）(symbolic link entry)",
            FindingKind::TooLarge => "展開後のサイズが上限を超えています（zip爆弾の疑い）(uncompressed size over the limit: possible zip bomb)",
            FindingKind::DuplicateName => "同じ名前のエントリが重複しています (duplicate entry names)",
            FindingKind::ManifestMissing => "マニフェストがありません (manifest missing)",
            FindingKind::ManifestInvalid => "マニフェストを読めません (manifest unreadable)",
            FindingKind::ManifestMismatch => "manifest.csv と manifest.json が一致しません (the two manifests disagree)",
            FindingKind::ManifestCount => "マニフェストの件数が載っている文書の数と一致しません (the manifest's count differs from the documents it lists)",
            FindingKind::ManifestIdentity => "マニフェストのグループ・分割番号・パッケージ名が、ファイル名・文書・packages.json の記録と一致しません (the manifest's group, part or package name differs from the file name, its documents or packages.json)",
            FindingKind::PasswordRequired => "暗号化されています。パスワードを指定してください (encrypted: a password is required)",
            FindingKind::WrongPassword => "パスワードが違います (wrong password)",
            FindingKind::Unreadable => "zip ファイルとして読めません (not a readable zip)",
            FindingKind::PackageMissing => "packages.json にあるパッケージがありません (listed package is missing)",
            FindingKind::PackageChanged => "パッケージが packages.json の記録と一致しません (package differs from packages.json)",
            FindingKind::PackageExtra => "packages.json にないパッケージがあります (package not listed in packages.json)",
        }
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The zip or folder it was found in.
    pub container: String,
    /// The entry (file name inside the container; "" for the container itself).
    pub entry: String,
    /// The Japanese message with an English gloss.
    pub message: String,
    /// Extra detail (expected/actual hash, sizes), never personal data.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The result of checking a zip, a run directory or a `packages.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// What was checked.
    pub target: String,
    /// Zips or folders opened.
    pub containers: usize,
    /// Documents whose hash matched: those of the run directory, or of the
    /// zips when only packages were checked.
    pub documents_ok: usize,
    /// Copies in packages whose hash matched, when a run directory was
    /// checked with its packages (the same documents again, not more).
    pub package_copies_ok: usize,
    /// Problems, in the order found.
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// True when everything matched.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    pub(crate) fn add(
        &mut self,
        kind: FindingKind,
        container: &Path,
        entry: &str,
        detail: impl Into<String>,
    ) {
        self.findings.push(Finding {
            kind,
            container: container.display().to_string(),
            // Entry names come from the files checked: escaped, so that
            // an ESC sequence or U+202E in a name cannot drive a terminal.
            entry: crate::files::terminal_safe(entry).into_owned(),
            message: kind.message().to_string(),
            detail: detail.into(),
        });
    }
}

/// How an entry name is unsafe, if it is.
pub(crate) fn unsafe_name(name: &str) -> Option<FindingKind> {
    let b = name.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if name.starts_with('/') || name.starts_with('\\') || drive {
        return Some(FindingKind::AbsolutePath);
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Some(FindingKind::ParentPath);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        assert_eq!(unsafe_name("/etc/passwd"), Some(FindingKind::AbsolutePath));
        assert_eq!(unsafe_name("C:\\x.pdf"), Some(FindingKind::AbsolutePath));
        assert_eq!(unsafe_name("docs/../../x"), Some(FindingKind::ParentPath));
        assert_eq!(unsafe_name("docs\\..\\x"), Some(FindingKind::ParentPath));
        assert_eq!(unsafe_name("docs/a..b.pdf"), None);
    }
}
