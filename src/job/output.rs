//! `[output]`: where run directories go, who may read them, and the
//! ledger. Plain configuration; uses only the `files` leaf (file modes).

use std::path::PathBuf;

use serde::Deserialize;

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Root of run directories; the batch goes to `<dir>/<job name>/<batch id>/`.
    #[serde(default = "default_out")]
    pub dir: PathBuf,
    /// Who may read the outputs: `private` (owner only: files 0600, folders
    /// 0700, the default) or `group` (0640 / 0750).
    #[serde(default)]
    pub permissions: Permissions,
    /// The issuance ledger: a SQLite file (default:
    /// `<dir>/<job name>/ledger.sqlite`) or a PostgreSQL server
    /// (`postgresql://user@host:port/db`, the password never here).
    pub ledger: Option<PathBuf>,
}

/// Whether a ledger setting names a PostgreSQL server rather than a file.
pub fn is_server_url(setting: &str) -> bool {
    setting.starts_with("postgresql://") || setting.starts_with("postgres://")
}

/// Output permission profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permissions {
    /// Owner only.
    #[default]
    Private,
    /// Owner and group may read.
    Group,
}

impl Output {
    /// File and directory modes for the permission profile.
    pub fn modes(&self) -> crate::files::Modes {
        match self.permissions {
            Permissions::Private => crate::files::Modes {
                file: 0o600,
                dir: 0o700,
            },
            Permissions::Group => crate::files::Modes {
                file: 0o640,
                dir: 0o750,
            },
        }
    }
}

fn default_out() -> PathBuf {
    PathBuf::from("out")
}

pub(crate) fn default_output() -> Output {
    Output {
        dir: default_out(),
        permissions: Permissions::Private,
        ledger: None,
    }
}
