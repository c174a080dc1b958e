//! The `specstub` binary: parse flags, run the command, exit. The flags and the commands live
//! here, over the library's public API; the library knows nothing of the command line.

mod cli;
mod run;

use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "mimalloc")]
    lazy_commit();
    run::run(cli::Cli::parse())
}

/// mimalloc commits whole arenas up front and purges freed memory after a delay, which nearly
/// doubled the idle RSS of a small mock (34 MB against glibc's 19 MB); committing on demand,
/// purging at once (and, in Cargo.toml, no transparent huge pages) keeps it at about 20 MB.
#[cfg(feature = "mimalloc")]
fn lazy_commit() {
    // The option numbers of mimalloc's `mi_option_e` (2.x and 3.x agree on these).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store mimalloc allows at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}
