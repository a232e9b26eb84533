//! The command line: one file per subcommand, each starting with its usage.

use clap::{Parser, Subcommand};

pub mod barcode;
pub mod check;
pub mod run;

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
    /// Derive and draw the Japan Post customer barcode of one address.
    Barcode(barcode::BarcodeArgs),
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::execute(&args),
        Command::Check(args) => check::execute(&args),
        Command::Barcode(args) => barcode::execute(&args),
    }
}
