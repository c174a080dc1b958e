//! The `specstub` binary: parse flags, run, exit.

use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    specstub::run::run(specstub::cli::Cli::parse())
}
