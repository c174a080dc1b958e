//! The `specstub` binary: parse flags, run, exit.

use clap::Parser;

fn main() -> std::process::ExitCode {
    specstub::run::run(specstub::cli::Cli::parse())
}
