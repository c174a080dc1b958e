//! What each command does, as library calls returning an exit code: `main` only parses flags,
//! calls these and exits.

use std::path::Path;
use std::process::ExitCode;

use specstub::{Config, LogFormat, ServerBuilder};

use crate::cli::{Cli, Command, LintArgs, VerifyArgs};

/// Exit codes: 0 ok, 1 problems found (lint, verify), 2 could not run (bad spec, port in use...).
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Lint(args) => lint(&args),
        Command::Serve(args) => {
            let level = args.log_level.level();
            let config = args.into_config();
            let _flush_on_exit = init_logging(config.log_format, level);
            let runtime = match runtime() {
                Ok(r) => r,
                Err(code) => return code,
            };
            runtime.block_on(serve(config))
        }
        Command::Verify(args) => {
            let _flush_on_exit = init_logging(LogFormat::Text, tracing::Level::INFO);
            let runtime = match runtime() {
                Ok(r) => r,
                Err(code) => return code,
            };
            runtime.block_on(verify(args))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("specstub: cannot start the async runtime: {e}");
        ExitCode::from(2)
    })
}

fn lint(args: &LintArgs) -> ExitCode {
    let config = Config { specs: args.load.specs(), load: args.load.options(), ..Config::default() };
    let files = match specstub::expand_inputs(&config.specs) {
        Ok(f) => f,
        Err(p) => {
            eprintln!("{p}");
            return ExitCode::from(2);
        }
    };
    // The same compiler as serve: what lint passes, serve serves.
    let problems = specstub::lint(config);
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    if problems.is_empty() {
        println!("{} document(s) checked: no problems", files.len());
        ExitCode::SUCCESS
    } else {
        println!("{} document(s) checked: {errors} error(s), {warnings} warning(s)", files.len());
        ExitCode::from(1)
    }
}

/// `specstub verify`: load, verify, print, write the reports. Exit 0 when the run passed (nothing
/// failed and something was proved, see `Report::vacuous`), 1 otherwise, 2 when the run could not
/// happen.
async fn verify(args: VerifyArgs) -> ExitCode {
    let report = match specstub::verify_provider(&args.config(), &args.options()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("specstub: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.to_text());
    if let Some(why) = &report.vacuous {
        // One line where CI shows errors: the report on stdout may be long or redirected.
        eprintln!("specstub: verify proves nothing: {why}");
    }
    for (path, text) in [(&args.junit, report.to_junit()), (&args.json, report.to_json())] {
        if let Some(path) = path {
            if let Err(e) = write_file(path, &text) {
                eprintln!("specstub: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

async fn serve(config: Config) -> ExitCode {
    let specs = config.specs.clone();
    let running = match ServerBuilder::from_config(config).start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("specstub: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!("serving {}", specs.iter().map(|s| s.display().to_string()).collect::<Vec<_>>().join(", "));
    let stop = shutdown_signal();
    // Scripts read this line from stdout to learn the port.
    println!("listening on {}", running.url());
    running.run_until(stop).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal sent right after the "listening" line is never missed.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = received(term.as_mut()) => {}
            _ = received(int.as_mut()) => {}
        }
    }
}

#[cfg(unix)]
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs go to stderr through a background writer, so a slow terminal never stalls a request.
/// The returned guard flushes what is pending when dropped.
fn init_logging(format: LogFormat, level: tracing::Level) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_writer(writer).with_ansi(std::io::stderr().is_terminal()).with_max_level(level);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}
