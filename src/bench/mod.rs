//! The benchmark (`chohyo bench`) as a library: what it measures and how it
//! judges it, so that the command line stays a thin layer over it.
//!
//! * `kind`: the job kinds and their embedded sample files;
//! * `synth`: N synthetic input rows per kind (valid, with real postal
//!   codes and addresses, or made to be rejected), as `.xlsx` or CSV;
//! * `rusage`: CPU time and peak RSS of this process (`getrusage`);
//! * `measure`: one measured run (a batch, or `check` alone), done in a
//!   fresh child process, and its typed result;
//! * `targets`: issue 16's performance targets, each computed from the
//!   runs it applies to, "not measured" when a figure is missing.
//!
//! The benchmark fails closed: a figure that could not be measured is
//! `None` and its target is never met; a run that did not render every
//! requested document, or rejected a generated row, is an error.
//!
//! Sits above `run` (it drives batches) and below `cli`.

pub mod kind;
pub mod measure;
pub mod rusage;
pub mod synth;
pub mod targets;

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a benchmark run could not be measured.
#[derive(Debug)]
pub enum BenchError {
    /// A file of the bench folder could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The synthetic input could not be written.
    Input(PathBuf, String),
    /// An embedded sample job is broken (a build error, really).
    Sample(&'static str, String),
    /// The batch (or check) failed.
    Batch(crate::error::BatchError),
    /// The child process measuring a run failed (its exit code).
    Child(Option<i32>),
    /// The run finished but did not do what was asked: a generated row
    /// was rejected, a document is missing.
    Incomplete(String),
}

impl BenchError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> BenchError {
        BenchError::Io(path.to_path_buf(), e)
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> crate::error::ExitCode {
        match self {
            BenchError::Batch(e) => e.exit_code(),
            BenchError::Child(code) => crate::error::ExitCode::of_child(*code),
            _ => crate::error::ExitCode::Failure,
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            BenchError::Input(p, e) => write!(
                f,
                "{}: 入力を生成できません (cannot write the synthetic input): {e}",
                p.display()
            ),
            BenchError::Sample(kind, e) => write!(
                f,
                "組み込みの見本 {kind} が読めません (embedded sample job broken): {e}"
            ),
            BenchError::Batch(e) => write!(f, "{e}"),
            BenchError::Child(code) => write!(
                f,
                "計測の子プロセスが失敗しました (the measuring child failed, exit {code:?})"
            ),
            BenchError::Incomplete(why) => {
                write!(f, "計測は無効です (the run does not count): {why}")
            }
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Io(_, e) => Some(e),
            BenchError::Batch(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::error::BatchError> for BenchError {
    fn from(e: crate::error::BatchError) -> Self {
        BenchError::Batch(e)
    }
}
