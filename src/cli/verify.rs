//! `chohyo verify`: recomputes every hash of a package, a run directory or
//! a whole batch's `packages.json`, and reports what does not match.
//!
//! ```text
//! chohyo verify <zip | run-dir | packages.json | packages-dir>
//!               [--json] [--password-file FILE | --password-env VAR]
//!               [--max-entry-mb N]
//! ```
//! Reports missing, extra and changed documents and unsafe entries
//! (absolute paths, `..`, symlinks, duplicate names, entries over the size
//! limit), each with its own Japanese message and English gloss.
//! The password of an encrypted package is read from a file or an
//! environment variable, never from the command line.
//! Exit codes: 0 everything matches, 1 problems found, 2 cannot read the target.

use crate::cli::output::{errln, outln};
use crate::error::ExitCode;
use crate::mail::package::{self, Password, VerifyOptions};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `chohyo verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// パッケージの zip、実行ディレクトリ、packages.json か、それを含むフォルダ (a package zip, a run directory, a
    /// packages.json or the folder holding it)
    pub target: PathBuf,
    /// 結果を JSON で標準出力に出す (print the report as JSON on stdout)
    #[arg(long)]
    pub json: bool,
    /// 暗号化パッケージのパスワードをこのファイル（1 行目）から読む (read the password of encrypted packages from this
    /// file, first line)
    #[arg(long, conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// 暗号化パッケージのパスワードをこの環境変数から読む (read the password of encrypted packages from this
    /// environment variable)
    #[arg(long)]
    pub password_env: Option<String>,
    /// 受け付ける展開後の最大エントリ MiB（zip 爆弾よけ） (largest uncompressed entry accepted, in MiB; zip-bomb
    /// guard)
    #[arg(long, default_value_t = 256)]
    pub max_entry_mb: u64,
}

/// Reads the password from the file or variable named, if any.
pub fn password_from(
    file: Option<&std::path::Path>,
    env: Option<&str>,
) -> Result<Option<Password>, crate::error::BatchError> {
    match (file, env) {
        (Some(f), _) => Password::from_file(f).map(Some),
        (None, Some(v)) => Password::from_env(v).map(Some),
        (None, None) => Ok(None),
    }
}

/// Runs the subcommand; returns the exit code.
pub fn execute(args: &VerifyArgs) -> ExitCode {
    let password = match password_from(args.password_file.as_deref(), args.password_env.as_deref())
    {
        Ok(p) => p,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    let opts = VerifyOptions {
        password,
        max_entry_bytes: args.max_entry_mb.saturating_mul(1024 * 1024),
        ..VerifyOptions::default()
    };
    let report = match package::verify_path(&args.target, &opts) {
        Ok(r) => r,
        Err(e) => {
            errln!("chohyo: {e}");
            return ExitCode::Input;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                errln!("chohyo: {e}");
                return ExitCode::Input;
            }
        }
    } else {
        for f in &report.findings {
            let mut where_ = f.container.clone();
            if !f.entry.is_empty() {
                where_.push_str(" :: ");
                where_.push_str(&f.entry);
            }
            outln!("NG  {}", f.message);
            outln!("    {where_}");
            if !f.detail.is_empty() {
                outln!("    {}", f.detail);
            }
        }
        if report.ok() {
            let copies = if report.package_copies_ok > 0 {
                format!(
                    "（パッケージ内の写し {} 件も一致 (package copies)）",
                    report.package_copies_ok
                )
            } else {
                String::new()
            };
            outln!(
                "OK  すべて一致しました (everything matches): 文書 {} 件{copies}、パッケージ/フォルダ {} 個 (documents, containers)",
                report.documents_ok, report.containers
            );
        } else {
            outln!(
                "NG  {} 件の問題 (problems); 一致した文書 {} 件 (documents matching)",
                report.findings.len(),
                report.documents_ok
            );
        }
    }
    if report.ok() {
        ExitCode::Success
    } else {
        ExitCode::Rejects
    }
}
