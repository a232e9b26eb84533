//! Files the batch reads and writes: regular files only and bounded reads
//! ([`RegularFile`], [`read_capped`]), owner-only modes, atomic writes, safe
//! file names, hashes, formula-safe spreadsheet cells.
//!
//! A leaf: it uses no other module of the crate, so that every stage that
//! reads a path (job file, template, fonts, images, input, the run's own
//! files) or writes (mail packages, the run directory, the rejects files)
//! shares one copy of these rules.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why a path was refused before any of it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRefusal {
    /// Not a regular file: a folder, a device such as `/dev/zero`, a FIFO
    /// or a socket (reading one would never end, or block for ever).
    NotRegular(FileKind),
    /// Larger than the cap for what it is (`size` is what the file system
    /// said, or the cap plus one when the file grew while being read).
    TooLarge {
        /// Bytes found.
        size: u64,
        /// The cap, in bytes.
        limit: u64,
    },
}

/// What a path that is not a regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A folder.
    Directory,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A named pipe (FIFO).
    Fifo,
    /// A socket.
    Socket,
    /// Anything else the system may report.
    Other,
}

impl FileKind {
    fn of(t: std::fs::FileType) -> FileKind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_char_device() {
                return FileKind::CharDevice;
            }
            if t.is_block_device() {
                return FileKind::BlockDevice;
            }
            if t.is_fifo() {
                return FileKind::Fifo;
            }
            if t.is_socket() {
                return FileKind::Socket;
            }
        }
        if t.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        }
    }

    /// Japanese with the English gloss.
    fn describe(self) -> &'static str {
        match self {
            FileKind::Directory => "フォルダ (a directory)",
            FileKind::CharDevice => "デバイス (a character device)",
            FileKind::BlockDevice => "デバイス (a block device)",
            FileKind::Fifo => "名前付きパイプ (a FIFO)",
            FileKind::Socket => "ソケット (a socket)",
            FileKind::Other => "特殊なファイル (a special file)",
        }
    }
}

impl std::fmt::Display for ReadRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadRefusal::NotRegular(kind) => write!(
                f,
                "通常のファイルではありません: {} です (not a regular file)",
                kind.describe()
            ),
            ReadRefusal::TooLarge { size, limit } => write!(
                f,
                "ファイルが大きすぎます: {size} バイト (上限 {limit} バイト) \
                 (file too large: {size} bytes, limit {limit})"
            ),
        }
    }
}

impl std::error::Error for ReadRefusal {}

impl From<ReadRefusal> for std::io::Error {
    fn from(r: ReadRefusal) -> std::io::Error {
        let kind = match r {
            ReadRefusal::NotRegular(FileKind::Directory) => std::io::ErrorKind::IsADirectory,
            ReadRefusal::NotRegular(_) => std::io::ErrorKind::InvalidInput,
            ReadRefusal::TooLarge { .. } => std::io::ErrorKind::FileTooLarge,
        };
        std::io::Error::new(kind, r)
    }
}

/// A file opened for reading that is known to be a regular file, with its
/// size when it was opened.
#[derive(Debug)]
pub struct RegularFile {
    /// The open file.
    pub file: File,
    /// Its size in bytes at opening.
    pub len: u64,
}

impl RegularFile {
    /// Opens `path` for reading, only when it is a regular file (symlinks to
    /// one are followed: operators link their fonts and inputs).
    ///
    /// The open uses `O_NONBLOCK`, so that a FIFO at `path` cannot block the
    /// open itself waiting for a writer, and the type is taken from the
    /// opened handle (not from the path, which could be swapped between a
    /// check and the open); the flag is then cleared again, as reads of a
    /// regular file never block anyway.
    pub fn open(path: &Path) -> std::io::Result<RegularFile> {
        let mut o = OpenOptions::new();
        o.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
        }
        let file = o.open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(ReadRefusal::NotRegular(FileKind::of(meta.file_type())).into());
        }
        #[cfg(unix)]
        clear_nonblocking(&file)?;
        Ok(RegularFile {
            file,
            len: meta.len(),
        })
    }

    /// Refuses the file when it is larger than `limit` bytes.
    pub fn check_size(&self, limit: u64) -> Result<(), ReadRefusal> {
        if self.len > limit {
            return Err(ReadRefusal::TooLarge {
                size: self.len,
                limit,
            });
        }
        Ok(())
    }

    /// Reads the whole file, refusing it when it is (or grows while being
    /// read to) more than `limit` bytes: at most `limit + 1` bytes are ever
    /// read, whatever the file system said about its size.
    pub fn read_capped(self, limit: u64) -> std::io::Result<Vec<u8>> {
        self.check_size(limit)?;
        let mut buf = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.file
            .take(limit.saturating_add(1))
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > limit {
            return Err(ReadRefusal::TooLarge {
                size: buf.len() as u64,
                limit,
            }
            .into());
        }
        Ok(buf)
    }
}

/// Clears `O_NONBLOCK` on a file opened with it.
#[cfg(unix)]
fn clear_nonblocking(file: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file` for the whole call;
    // F_GETFL and F_SETFL only read and set its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the regular file at `path` whole, at most `limit` bytes (see
/// [`RegularFile`]): the one way the batch reads a file named by a path.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    RegularFile::open(path)?.read_capped(limit)
}

/// [`read_capped`] of UTF-8 text; other bytes are an `InvalidData` error
/// saying where the first bad byte is.
pub fn read_capped_string(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, limit)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "UTF-8 のテキストではありません ({} バイト目) (not UTF-8 text at byte {})",
                e.utf8_error().valid_up_to(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Permission bits for files and directories the batch creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    /// Mode of files (default 0o600).
    pub file: u32,
    /// Mode of directories (default 0o700).
    pub dir: u32,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            file: 0o600,
            dir: 0o700,
        }
    }
}

/// Creates a directory (and parents) with owner-only permissions; refuses a
/// symlink in place of the directory.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    create_dir_with(dir, Modes::default().dir)
}

/// Creates a directory (and parents) for the batch's files. New folders get
/// `mode`; the folder itself, when it exists already, is brought down to
/// `mode` (a reused 0777 folder would let anyone read the certificates).
/// A symlink in place of the folder or of its parent (the job's folder of a
/// run directory) is refused: the batch writes where its operator pointed
/// it, never where someone else's link leads.
pub fn create_dir_with(dir: &Path, mode: u32) -> std::io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        refuse_symlink(parent)?;
    }
    refuse_symlink(dir)?;
    if std::fs::symlink_metadata(dir).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let now = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
            if now & !mode != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
            }
        }
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    b.create(dir)
}

/// An error when `path` is a symlink (a missing path is fine).
pub fn refuse_symlink(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(std::io::Error::other(format!(
            "シンボリックリンクには出力しません (refusing to write through a symlink): {}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// How [`open_for_write`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Append to the file, creating it (logs, the journal).
    Append,
    /// Read and write in place, creating it, not truncating (the lock, the
    /// plan's document list).
    Update,
}

/// Opens a file the batch keeps writing to, creating it with `mode`, and
/// never through a symlink (`O_NOFOLLOW`): a link planted at `run.log` or
/// `journal.jsonl` would otherwise have the batch append to, or truncate,
/// whatever it points at.
pub fn open_for_write(path: &Path, how: WriteMode, mode: u32) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    match how {
        WriteMode::Append => o.append(true).create(true),
        WriteMode::Update => o.read(true).write(true).create(true).truncate(false),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return std::io::Error::other(format!(
                "シンボリックリンクには出力しません (refusing to write through a symlink): {}",
                path.display()
            ));
        }
        e
    })
}

/// Opens a new file for writing with the given mode, never following a
/// symlink and never reusing an existing file.
pub fn create_file(path: &Path, mode: u32) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(path)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// fsynced, then renamed over the target. A reader never sees a partial file.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path, mode)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Writes `bytes` to `path` atomically, owner-only (0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, Modes::default().file)
}

/// A file written in pieces that appears at its name only when complete:
/// [`write_atomic_mode`] for output too large to build in memory. Dropped
/// without [`AtomicFile::commit`], it leaves nothing behind.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path` (through a temporary dot-file beside it).
    pub fn create(path: &Path, mode: u32) -> std::io::Result<AtomicFile> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let file = create_file(&tmp, mode)?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::with_capacity(64 * 1024, file)),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Syncs the file and renames it to its name (never through a symlink
    /// or over a folder).
    pub fn commit(mut self) -> std::io::Result<()> {
        let Some(w) = self.file.take() else {
            return Err(std::io::Error::other("already committed"));
        };
        let result = (|| {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            drop(f);
            if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
                if meta.file_type().is_symlink() || meta.is_dir() {
                    return Err(std::io::Error::other(
                        "出力先がシンボリックリンクかフォルダです (target is a symlink or a directory)",
                    ));
                }
            }
            std::fs::rename(&self.tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Longest file name [`sanitize_file_name`] returns, in UTF-8 bytes (below
/// the 255-byte limit of Linux file systems and SMB shares, leaving room for
/// a collision suffix and temporary-file prefixes).
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// Makes a file name safe on Linux and on Windows shares.
///
/// NFC-normalised; invisible characters (zero-width spaces and joiners,
/// bidirectional controls such as U+202E that would make `男<U+202E>gpj.exe`
/// read as `男exe.jpg`, the BOM, soft hyphens) are removed; path separators, control
/// characters and `\ / : * ? " < > |` become `_`; the extension (the last
/// `.` and up to 15 ASCII letters or digits after it) is kept whatever the
/// stem is; leading dots of the stem become `_` (no hidden files, no `..`);
/// trailing dots and spaces become `_` (Windows drops them); a Windows
/// reserved device name ([`is_reserved_name`], also with an extension such as
/// `nul.pdf`) gets a `_` prefix; at most [`MAX_FILE_NAME_BYTES`] bytes, cut
/// at a character boundary before the extension; never empty. The result is
/// a fixed point.
pub fn sanitize_file_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let s: String = name
        .nfc()
        .filter(|&c| !is_invisible(c))
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let (stem, ext) = split_extension(&s);
    let mut stem = stem.to_string();
    // Bounded length: keep the extension, cut the stem at a char boundary.
    if stem.len() + ext.len() > MAX_FILE_NAME_BYTES {
        let mut cut = MAX_FILE_NAME_BYTES - ext.len();
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem.truncate(cut);
    }
    let dots = stem.len() - stem.trim_start_matches('.').len();
    stem.replace_range(0..dots, &"_".repeat(dots));
    if ext.is_empty() {
        let trail = stem.len() - stem.trim_end_matches(['.', ' ']).len();
        let keep = stem.len() - trail;
        stem.replace_range(keep.., &"_".repeat(trail));
    }
    if stem.is_empty() {
        stem.push('_');
    }
    let first = stem.split('.').next().unwrap_or("").trim_end_matches(' ');
    if is_reserved_name(first) {
        stem.insert(0, '_');
        if stem.len() + ext.len() > MAX_FILE_NAME_BYTES {
            let mut cut = MAX_FILE_NAME_BYTES - ext.len();
            while !stem.is_char_boundary(cut) {
                cut -= 1;
            }
            stem.truncate(cut);
        }
    }
    stem + ext
}

/// A name's stem and extension: the extension is the last `.` with 1 to 15
/// ASCII letters or digits after it (`a.tar.gz` → `a.tar` + `.gz`; `..`,
/// `name.` and `a._b` have none).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i)
            if (2..=16).contains(&(name.len() - i))
                && name[i + 1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            name.split_at(i)
        }
        _ => (name, ""),
    }
}

/// A Windows reserved device name (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`,
/// `LPT1`–`LPT9`, any case), which no file or folder may be called on a
/// Windows share, whatever its extension.
pub fn is_reserved_name(stem: &str) -> bool {
    let upper = stem.to_ascii_uppercase();
    matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && matches!(upper.as_bytes()[3], b'1'..=b'9'))
}

/// Characters that show nothing but change how a name reads or compares:
/// zero-width spaces and joiners, bidirectional marks, embeddings,
/// overrides and isolates, the BOM, soft hyphens, invisible operators and
/// tag characters. (Ideographic variation selectors are kept: they choose
/// a kanji's form in a person's name.)
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Bytes (a digest) as lower-case hex, the form every manifest records.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Characters that make a spreadsheet run a cell as a formula when they
/// start it.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Neutralises a text cell that a spreadsheet would run as a formula, by
/// an apostrophe in front (`=1+1` → `'=1+1`). Every text cell of every CSV
/// and xlsx the batch writes goes through here, and every reader of those
/// files through [`restore_formula`]. So that the two are exact inverses, a
/// value that already looks neutralised (apostrophes, then a formula
/// start: `'=x`) gets one more apostrophe.
pub fn neutralize_formula(s: &str) -> String {
    if s.trim_start_matches('\'').starts_with(FORMULA_STARTS) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The value a cell written by [`neutralize_formula`] holds: `'-R001` →
/// `-R001`; a cell that was not neutralised is returned as it is.
pub fn restore_formula(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_STARTS) => rest,
        _ => s,
    }
}

/// Text made safe to print on a terminal: control characters (C0, DEL,
/// C1: ESC sequences can move the cursor, retitle the window or hide what
/// follows) and invisible or bidirectional characters (U+202E would make a
/// record id read backwards) are shown as `\u{1B}`; everything else is kept.
/// For what came from data or from the operator's files (record ids, scanned
/// ids, entry names), never for our own messages.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_invisible(c);
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Opens a file to read only when it is a regular file: never through a
/// symlink, and never a FIFO or a device (`/dev/zero`, a pipe listed in a
/// manifest), which would hang the reader or never end. Opened without
/// blocking, then checked on the open file itself, so it cannot be swapped
/// between the check and the open.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "通常のファイルではありません (not a regular file): {}",
            path.display()
        )));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only_and_symlinks_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_atomic_mode(&p, b"hi", 0o600).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link.pdf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_atomic_mode(&link, b"new", 0o600).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let sub = dir.path().join("d");
        create_private_dir(&sub).unwrap();
        assert_eq!(
            std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read_and_reads_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_capped(&p, 5).unwrap(), b"12345");
        let e = read_capped(&p, 4).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("上限 4 バイト"), "{e}");
        let e = read_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("デバイス"), "{e}");
        let e = read_capped(dir.path(), 1 << 20).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::IsADirectory);
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path for the whole call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Would block for ever without O_NONBLOCK (nobody writes to it).
        let e = RegularFile::open(&fifo).unwrap_err();
        assert!(e.to_string().contains("名前付きパイプ"), "{e}");
        std::fs::write(&p, b"ok \xff").unwrap();
        let e = read_capped_string(&p, 100).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    }

    #[test]
    fn file_names_are_safe_on_windows_shares() {
        for (given, want) in [
            ("..", "__"),
            ("../../etc/passwd", "___.._etc_passwd"),
            ("a\\b:c*d?e\"f<g>h|i", "a_b_c_d_e_f_g_h_i"),
            ("tab\there\n", "tab_here_"),
            ("CON", "_CON"),
            ("con.pdf", "_con.pdf"),
            ("Nul.tar.gz", "_Nul.tar.gz"),
            ("COM1.pdf", "_COM1.pdf"),
            ("lpt9", "_lpt9"),
            ("COM0.pdf", "COM0.pdf"),
            ("CONSOLE.pdf", "CONSOLE.pdf"),
            ("name. ", "name__"),
            ("name...", "name___"),
            ("", "_"),
            // The extension survives a stem of dots; a lone extension gets a stem.
            ("...pdf", "__.pdf"),
            (".pdf", "_.pdf"),
            ("a._b", "a._b"),
            // Invisible and bidirectional characters are dropped.
            ("男\u{202E}gpj.exe-1.pdf", "男gpj.exe-1.pdf"),
            ("山\u{200B}田\u{200D}\u{FEFF}.pdf", "山田.pdf"),
            ("\u{2066}CON\u{2069}.pdf", "_CON.pdf"),
            // NFD か + combining voiced mark → NFC が.
            ("\u{304B}\u{3099}.pdf", "\u{304C}.pdf"),
        ] {
            assert_eq!(sanitize_file_name(given), want, "{given:?}");
        }
    }

    #[test]
    fn long_file_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "山".repeat(300));
        let s = sanitize_file_name(&long);
        assert!(s.len() <= MAX_FILE_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with(".pdf") && s.starts_with("山山"), "{s}");
        let s = sanitize_file_name(&"a".repeat(10_000));
        assert_eq!(s.len(), MAX_FILE_NAME_BYTES);
        // Every output is a fixed point.
        for n in [
            "CON", "a. ", &long, "..", "x/y", "...pdf", ".pdf", "nul.", "a.b.c ",
        ] {
            let once = sanitize_file_name(n);
            assert_eq!(sanitize_file_name(&once), once, "{n:?}");
        }
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("山田"), "山田");
        // Exact inverses, also for values that look neutralised already.
        for v in [
            "=1+1", "-R001", "'=x", "''+y", "'plain", "山田", "", "'", "@a",
        ] {
            let written = neutralize_formula(v);
            assert!(!written.starts_with(FORMULA_STARTS), "{written}");
            assert_eq!(restore_formula(&written), v, "{v:?}");
        }
        assert_eq!(neutralize_formula("'=x"), "''=x");
    }

    #[test]
    fn terminal_text_shows_control_and_bidi_characters_escaped() {
        assert_eq!(terminal_safe("R\u{1b}[2J\u{7}"), "R\\u{1B}[2J\\u{7}");
        assert_eq!(terminal_safe("A\u{202E}B\u{9b}"), "A\\u{202E}B\\u{9B}");
        assert!(matches!(
            terminal_safe("山田-001"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
