//! Why a command failed, and the exit code each failure gives.
//!
//! A leaf (it uses no other module of the crate): every stage returns a
//! [`BatchError`] or an error of its own that converts into one, and the
//! command line turns it into an [`ExitCode`] in one place, as the README's
//! exit-code table documents. Messages are Japanese with an English gloss
//! and never contain cell values.

use std::path::{Path, PathBuf};

/// The process exit codes, a contract with the scripts and schedulers that
/// run chohyo (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every row rendered, or the batch had already finished (0).
    Success = 0,
    /// Finished, with rejects; for `barcode`: the address cannot be encoded;
    /// for `verify` and `dispatch-check`: something does not match (1).
    Rejects = 1,
    /// Job file, template, font or input error, or the input changed since
    /// the batch was planned (2). Found before rendering as a rule; a
    /// template that breaks (or runs past its budget) on one record stops
    /// the batch with this code too, the documents before it kept.
    Input = 2,
    /// Failure while rendering or writing (3).
    Failure = 3,
    /// Another run of the same batch holds its lock (4).
    Locked = 4,
    /// `run --strict` found rejects: nothing rendered or numbered, the
    /// rejects files written to the run directory (5).
    Strict = 5,
    /// Stopped by SIGINT (Ctrl-C) after finishing the documents in hand;
    /// running again resumes (130, the shells' convention).
    Interrupted = 130,
    /// Stopped by SIGTERM after finishing the documents in hand; running
    /// again resumes (143).
    Terminated = 143,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The code a child chohyo process exited with (a signal or an unknown
    /// number is a failure).
    pub fn of_child(code: Option<i32>) -> ExitCode {
        match code {
            Some(0) => ExitCode::Success,
            Some(1) => ExitCode::Rejects,
            Some(2) => ExitCode::Input,
            Some(4) => ExitCode::Locked,
            Some(5) => ExitCode::Strict,
            Some(130) => ExitCode::Interrupted,
            Some(143) => ExitCode::Terminated,
            _ => ExitCode::Failure,
        }
    }
}

/// Why a batch (or another command) failed.
#[derive(Debug)]
pub enum BatchError {
    /// The job, its template/fonts/images or the input cannot be used (exit 2).
    Input(String),
    /// Another run of the same batch holds the lock (exit 4).
    Locked(String),
    /// `run --strict` found rejects before the batch was numbered (exit 5).
    Strict {
        /// Problems found.
        rejects: usize,
        /// Rows they are in.
        rows: usize,
        /// The rejects report written (`rejects.csv`; `rejects.xlsx` beside it).
        report: PathBuf,
    },
    /// Rendering failed for a reason that is not the record's data (exit 3).
    Render(String),
    /// Writing outputs failed for a reason that is not one file's I/O (exit 3).
    Io(String),
    /// Stopped by this signal, cleanly (exit 128 + the signal).
    Stopped(i32),
    /// A file of the batch's own (plan, journal, manifest, shard) could not
    /// be read (exit 3).
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file could not be written (exit 3).
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl BatchError {
    /// The file named in a failed read.
    pub fn read(path: &Path, source: std::io::Error) -> BatchError {
        BatchError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file named in a failed write.
    pub fn write(path: &Path, source: std::io::Error) -> BatchError {
        BatchError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The process exit code documented in the README.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            BatchError::Input(_) => ExitCode::Input,
            BatchError::Locked(_) => ExitCode::Locked,
            BatchError::Strict { .. } => ExitCode::Strict,
            BatchError::Stopped(s) if *s == libc::SIGINT => ExitCode::Interrupted,
            BatchError::Stopped(_) => ExitCode::Terminated,
            BatchError::Render(_)
            | BatchError::Io(_)
            | BatchError::Read { .. }
            | BatchError::Write { .. } => ExitCode::Failure,
        }
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Input(m)
            | BatchError::Locked(m)
            | BatchError::Render(m)
            | BatchError::Io(m) => f.write_str(m),
            BatchError::Strict { rejects, rows, report } => write!(
                f,
                "--strict: {rows} 行に {rejects} 件の不備があるため、何も出力せず、文書番号も使っていません。不備の一覧は {} と rejects.xlsx にあります。直して再実行してください (--strict: {rejects} problems in {rows} rows; nothing rendered or numbered; see the rejects report)",
                full_path(report).display()
            ),
            BatchError::Stopped(signal) => write!(
                f,
                "シグナル {signal} で停止しました。途中までの文書は保存済みで、もう一度実行すると続きから再開します (stopped by signal {signal}; the documents written so far are kept, run again to resume)"
            ),
            BatchError::Read { path, source } => write!(
                f,
                "読めません (cannot read) {}: {}",
                full_path(path).display(),
                io_reason(source)
            ),
            BatchError::Write { path, source } => write!(
                f,
                "書き込めません (cannot write) {}: {}",
                full_path(path).display(),
                io_reason(source)
            ),
        }
    }
}

/// `path` as an absolute path, for messages: the operator may have started
/// the command from another folder than the one a relative name is
/// relative to. Not resolved through symlinks (the name they gave is kept).
pub fn full_path(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Why the system refused a read or a write, in Japanese with the English
/// gloss. An error the crate made itself (a refused FIFO, a file over its
/// cap) already says it in Japanese and is shown as it is.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    if e.get_ref().is_some() {
        return e.to_string();
    }
    let said = match e.kind() {
        K::NotFound => "見つかりません (not found)",
        K::PermissionDenied => "権限がありません (permission denied)",
        K::IsADirectory => "フォルダです (is a directory)",
        K::NotADirectory => "途中の名前がフォルダではありません (a parent is not a directory)",
        K::StorageFull => "ディスクの容量が足りません (no space left on device)",
        K::QuotaExceeded => "容量の割り当てを超えました (disk quota exceeded)",
        K::ReadOnlyFilesystem => "読み取り専用です (read-only file system)",
        K::AlreadyExists => "すでにあります (already exists)",
        K::FileTooLarge => "ファイルが大きすぎます (file too large)",
        K::InvalidFilename => "名前が長すぎるか使えません (invalid file name)",
        _ => return format!("システムのエラー (system error): {e}"),
    };
    said.to_string()
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BatchError::Read { source, .. } | BatchError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
