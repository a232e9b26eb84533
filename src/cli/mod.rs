//! The command line: one file per subcommand, each starting with its usage.

use crate::error::ExitCode;
use clap::{Parser, Subcommand};

pub mod barcode;
pub mod bench;
pub mod check;
pub mod dispatch_check;
pub mod ledger;
pub mod merge;
pub mod output;
pub mod run;
pub mod verify;

/// chohyo (帳票): spreadsheets of HR requests → checked records → Japanese
/// PDF certificates, packaged with manifests.
#[derive(Debug, Parser)]
#[command(name = "chohyo", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a batch: read, check, render and write the run directory.
    Run(run::RunArgs),
    /// Read and check the input only; write the rejects; render nothing.
    Check(check::CheckArgs),
    /// Combine the run directories of a sharded batch.
    Merge(merge::MergeArgs),
    /// List, search and export the issuance ledger (発行台帳).
    Ledger(ledger::LedgerArgs),
    /// Measure the whole pipeline on N synthetic certificates.
    Bench(bench::BenchArgs),
    /// Derive and draw the Japan Post customer barcode of one address.
    Barcode(barcode::BarcodeArgs),
    /// Recompute every hash of a package, run directory or packages.json.
    Verify(verify::VerifyArgs),
    /// Reconcile scanned document ids of envelopes with a manifest.
    DispatchCheck(dispatch_check::DispatchArgs),
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
