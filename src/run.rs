//! What each command does, as library calls returning an exit code: `main` only parses flags,
//! calls these and exits.

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, Command, LintArgs};
use crate::config::{Config, LogFormat};
use crate::pipeline::App;
use crate::spec::{self, Problem};

/// Exit codes: 0 ok, 1 problems found (lint), 2 could not run (bad spec, port in use...).
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Lint(args) => lint(&args),
        Command::Serve(args) => {
            let config = args.into_config();
            init_logging(config.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("specstub: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime.block_on(serve(config))
        }
    }
}

fn lint(args: &LintArgs) -> ExitCode {
    let files = match spec::expand_inputs(&args.load.specs()) {
        Ok(f) => f,
        Err(p) => {
            eprintln!("{p}");
            return ExitCode::from(2);
        }
    };
    let (_, problems) = spec::load(&files, &args.load.options());
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

/// Loads the specs of `config`, printing problems; None when they cannot be served.
pub fn load_specs(config: &Config) -> Result<spec::SpecSet, Vec<Problem>> {
    let files = spec::expand_inputs(&config.specs).map_err(|p| vec![p])?;
    let (set, problems) = spec::load(&files, &config.load);
    match set {
        Some(set) => {
            for p in &problems {
                tracing::warn!("{p}");
            }
            Ok(set)
        }
        None => Err(problems),
    }
}

async fn serve(config: Config) -> ExitCode {
    let set = match load_specs(&config) {
        Ok(s) => s,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("specstub: not serving: fix the problems above (`specstub lint` lists them too)");
            return ExitCode::from(2);
        }
    };
    let listener = match crate::server::bind(&config.host, config.port).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("specstub: {e}");
            return ExitCode::from(2);
        }
    };
    let summary: Vec<String> = set.specs.iter().map(|s| format!("{} ({})", s.file.display(), if s.title.is_empty() { "untitled" } else { &s.title })).collect();
    let operations = set.operations.len();
    let app = Arc::new(App::new(set, config));
    let running = match crate::server::spawn(listener, app) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("specstub: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!("serving {operations} operation(s) from {}", summary.join(", "));
    // Scripts read this line from stdout to learn the port.
    println!("listening on {}", running.url());
    running.run_until(shutdown_signal()).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(tracing::Level::INFO);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
