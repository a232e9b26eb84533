//! The command line: one file per subcommand, each starting with its usage.
//!
//! The help is Japanese with the English beside it, as the README's
//! command reference is (`tests/operator.rs` keeps the two in step): the
//! doc comments below and in each subcommand's file are the help text, and
//! [`localized`] gives clap's own headings and flags the same form.

use crate::error::ExitCode;
use clap::{
    Arg, ArgAction, Command as ClapCommand, CommandFactory, FromArgMatches, Parser, Subcommand,
};

pub mod barcode;
pub mod bench;
pub mod check;
pub mod dispatch_check;
pub mod ledger;
pub mod merge;
pub mod output;
pub mod run;
pub mod verify;

/// chohyo (帳票): 表計算の申請一覧を確認して日本語の PDF 証明書・通知書にし、マニフェストを付けて出力する
/// (spreadsheets of HR requests → checked records → Japanese PDF certificates, packaged with manifests)
#[derive(Debug, Parser)]
#[command(name = "chohyo", version, long_about = None)]
pub struct Cli {
    /// すること (what to do)
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// バッチを実行する: 読み込み、確認、PDF 出力、実行ディレクトリの作成 (run a batch: read, check, render and write the run directory)
    Run(run::RunArgs),
    /// 入力の読み込みと確認だけをして不備一覧を書く。PDF は作らない (read and check the input only; write the rejects; render nothing)
    Check(check::CheckArgs),
    /// 分割実行したバッチの実行ディレクトリをまとめる (combine the run directories of a sharded batch)
    Merge(merge::MergeArgs),
    /// 発行台帳を一覧・検索・書き出しする (list, search and export the issuance ledger)
    Ledger(ledger::LedgerArgs),
    /// 架空の帳票 N 件で処理全体の速さとメモリを測り、目標と照らす (measure the whole pipeline on N synthetic documents of each job kind against the targets)
    Bench(bench::BenchArgs),
    /// 一つの住所の郵便局のカスタマバーコードを求めて描く (derive and draw the Japan Post customer barcode of one address)
    Barcode(barcode::BarcodeArgs),
    /// パッケージ・実行ディレクトリ・packages.json のハッシュをすべて計算し直して確かめる (recompute every hash of a package, run directory or packages.json)
    Verify(verify::VerifyArgs),
    /// 封筒から読み取った文書IDをマニフェストと照合する (reconcile scanned document ids of envelopes with a manifest)
    DispatchCheck(dispatch_check::DispatchArgs),
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> ExitCode {
    let matches = localized(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Run(args) => run::execute(&args),
        Command::Check(args) => check::execute(&args),
        Command::Merge(args) => merge::execute(&args),
        Command::Ledger(args) => ledger::execute(&args),
        Command::Bench(args) => bench::execute(&args),
        Command::Barcode(args) => barcode::execute(&args),
        Command::Verify(args) => verify::execute(&args),
        Command::DispatchCheck(args) => dispatch_check::execute(&args),
    }
}

/// The form of clap's own parts of the help: the usage line and headings,
/// `--help` and `--version`, in Japanese with the English beside them.
const HELP_TEMPLATE: &str =
    "{about-with-newline}\n使い方 (usage): {usage}\n\n{all-args}{after-help}";

/// The command line with clap's own texts localised (see [`HELP_TEMPLATE`]),
/// for the command and every subcommand. `chohyo help <command>` is left
/// out: `chohyo <command> --help` is the one way, as the README says.
pub fn localized(cli: ClapCommand) -> ClapCommand {
    localize(cli)
        .disable_help_subcommand(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("版を表示する (print version)")
                .help_heading(OPTIONS),
        )
}

const OPTIONS: &str = "オプション (options)";

fn localize(cmd: ClapCommand) -> ClapCommand {
    cmd.help_template(HELP_TEMPLATE)
        .subcommand_help_heading("コマンド (commands)")
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("この説明を表示する (print help)"),
        )
        .mut_args(|a| {
            let heading = if a.is_positional() {
                "引数 (arguments)"
            } else {
                OPTIONS
            };
            with_default_in_help(a).help_heading(heading)
        })
        .mut_subcommands(localize)
}

/// An option's default said in the form of its help (clap's own
/// `[default: …]` is English).
fn with_default_in_help(a: Arg) -> Arg {
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if defaults.is_empty() || a.is_hide_default_value_set() {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let text = format!("{help}［既定 (default): {}］", defaults.join(","));
    a.hide_default_value(true).help(text)
}
