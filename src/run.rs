//! What each command does, as library calls returning an exit code: `main` only parses flags,
//! calls these and exits.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use specstub::{Config, DataMode, LogFormat, Mode, Overview, ServerBuilder, StoreKind};

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
        Command::Completions(args) => print(&completion_script(args.shell)),
        Command::Man => print(&man_page()),
        Command::Health(args) => health(&args.url),
    }
}

/// The completion script for `shell`, generated from the clap definitions so it never drifts
/// from `--help`. Rendered into memory first: clap_complete panics on a failed write, and
/// `specstub completions bash | head` closes the pipe early.
fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "specstub", &mut out);
    out
}

/// The man page in roff, from the same definitions (the subcommands are listed in it; their
/// flags are in `specstub <command> --help`).
fn man_page() -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    clap_mangen::Man::new(Cli::command()).render(&mut out).expect("rendering into memory");
    out
}

fn print(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`) got what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("specstub: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
    }
}

/// `specstub health URL`: 0 when GET URL answers 2xx, 1 otherwise, with the reason on stderr.
/// A container's HEALTHCHECK runs this, so the runtime image needs no curl (no package layer, one
/// binary to patch) and the check speaks to the server exactly as a client on the loopback would.
fn health(url: &str) -> ExitCode {
    match health_status(url, Duration::from_secs(3)) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("specstub: {url} answered {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("specstub: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

/// One HTTP/1.1 GET over a plain socket, returning the status code. Deliberately minimal: the
/// health route is local, plain HTTP, and answers a small body; an async client and its runtime
/// would be most of the check's start-up time.
fn health_status(url: &str, timeout: Duration) -> Result<u16, String> {
    use std::io::{BufRead, BufReader};
    use std::net::{TcpStream, ToSocketAddrs};
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).and_then(|()| stream.set_write_timeout(Some(timeout))).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: specstub-health\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| e.to_string())?;
    // "HTTP/1.1 200 OK"
    line.split_whitespace().nth(1).and_then(|code| code.parse().ok()).ok_or_else(|| format!("not an HTTP answer: {:?}", line.trim_end()))
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
    let format = config.log_format;
    let running = match ServerBuilder::from_config(config).start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("specstub: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = shutdown_signal();
    let overview = running.overview();
    // Scripts read the first line from stdout to learn the port; with JSON logs stdout keeps
    // only that line and the rest goes to the log as fields.
    let text = match format {
        LogFormat::Text => banner(&overview, colour(&std::io::stdout())),
        LogFormat::Json => {
            log_overview(&overview);
            format!("listening on {}\n", overview.url)
        }
    };
    // One write: a reader that stops after the first line cannot break a second one.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    drop(stdout);
    running.run_until(stop).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Whether `stream` gets colours: a terminal, and neither NO_COLOR (https://no-color.org) nor
/// CLICOLOR=0 set.
fn colour(stream: &impl anstream::stream::RawStream) -> bool {
    anstream::stream::IsTerminal::is_terminal(stream) && anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// The start-up banner: the `listening on` line scripts read first, then each document with its
/// version, operation count and base URL, the admin URL and the features in force.
fn banner(o: &Overview, colour: bool) -> String {
    use anstyle::{AnsiColor, Style};
    use std::fmt::Write as _;
    let paint = |style: Style, text: &str| if colour { format!("{style}{text}{style:#}") } else { text.to_string() };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let link = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    let on = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let mut out = format!("listening on {}\n\n", o.url);
    let _ = writeln!(out, "  {} {}", paint(bold, "specstub"), paint(dim, env!("CARGO_PKG_VERSION")));
    let width = |f: fn(&specstub::ServedDocument) -> usize| o.documents.iter().map(f).max().unwrap_or(0);
    let (title_w, version_w) = (width(|d| d.title.chars().count()), width(|d| d.version.chars().count()));
    for d in &o.documents {
        let title = if d.title.is_empty() { d.file.display().to_string() } else { d.title.clone() };
        let operations = format!("{} operation{}", d.operations, if d.operations == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "  {}{}  {:version_w$}  {operations:>14}  {}",
            paint(bold, &title),
            " ".repeat(title_w.saturating_sub(title.chars().count())),
            d.version,
            paint(link, &d.base_url),
        );
    }
    out.push('\n');
    let f = &o.features;
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "  {}{}{value}", paint(dim, label), " ".repeat(10usize.saturating_sub(label.len())));
    };
    line("admin", paint(link, &o.admin_url));
    let mut store = match &f.store {
        StoreKind::Memory => "memory".to_string(),
        StoreKind::Redis { url, prefix } => format!("redis {url} (prefix {prefix})"),
        StoreKind::Stateless => "stateless (answers from the documents alone)".to_string(),
        _ => "other".to_string(),
    };
    if let Some(path) = &f.state_file {
        let _ = write!(store, ", state file {}", path.display());
    }
    line("store", store);
    let mut data = match f.data {
        DataMode::Realistic => paint(on, "realistic"),
        _ => "static".to_string(),
    };
    if f.data == DataMode::Realistic {
        let _ = write!(data, ", seed {}", f.seed.unwrap_or(0));
    }
    if f.dynamic {
        data.push_str(", generated by default (--dynamic)");
    }
    line("data", data);
    let ops = |n: usize| format!("{n} operation{}", if n == 1 { "" } else { "s" });
    let mut traffic = Vec::new();
    if f.rate_limited > 0 {
        traffic.push(format!("rate limits on {}", ops(f.rate_limited)));
    }
    match (f.latency, f.delayed) {
        (Some(l), _) => traffic.push(format!("latency {l}")),
        (None, n) if n > 0 => traffic.push(format!("latency on {}", ops(n))),
        _ => {}
    }
    if f.chaos > 0.0 {
        traffic.push(format!("chaos {}% (seed {})", (f.chaos * 1000.0).round() / 10.0, f.traffic_seed));
    } else if f.faulty > 0 {
        traffic.push(format!("faults on {} (seed {})", ops(f.faulty), f.traffic_seed));
    }
    if !traffic.is_empty() {
        line("traffic", traffic.join(", "));
    }
    if let Some(upstream) = &f.proxy {
        line("proxy", format!("{}{}", paint(link, upstream), if f.proxy_strict { " (strict)" } else { "" }));
    }
    let validation = match f.validation {
        Mode::Strict => "strict",
        Mode::Warn => "warn",
        Mode::Off => "off",
    };
    let watch = if f.watch {
        format!("{}, a saved change is served at once (--no-watch to turn off)", paint(on, "on"))
    } else {
        "off (POST /__specstub/reload reloads)".to_string()
    };
    line("watch", watch);
    let self_check = if f.self_check { paint(on, "on") } else { "off".to_string() };
    line("checks", format!("validation {validation}, self-check {self_check}"));
    out
}

/// The banner's facts as log events, for `--log-format json`.
fn log_overview(o: &Overview) {
    for d in &o.documents {
        tracing::info!(title = %d.title, version = %d.version, operations = d.operations, base_url = %d.base_url, file = %d.file.display(), "serving");
    }
    let f = &o.features;
    let store = match &f.store {
        StoreKind::Memory => "memory".to_string(),
        StoreKind::Redis { url, .. } => url.clone(),
        StoreKind::Stateless => "stateless".to_string(),
        _ => "other".to_string(),
    };
    let data = if f.data == DataMode::Realistic { "realistic" } else { "static" };
    tracing::info!(
        url = %o.url,
        admin = %o.admin_url,
        store,
        state_file = f.state_file.as_ref().map(|p| p.display().to_string()),
        data,
        dynamic = f.dynamic,
        seed = f.seed,
        rate_limited = f.rate_limited,
        delayed = f.delayed,
        chaos = f.chaos,
        proxy = f.proxy.as_deref(),
        self_check = f.self_check,
        watch = f.watch,
        "listening"
    );
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
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_writer(writer).with_ansi(colour(&std::io::stderr())).with_max_level(level);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_scripts_know_the_commands_and_their_flags() {
        let bash = String::from_utf8(completion_script(clap_complete::Shell::Bash)).unwrap();
        assert!(bash.contains("serve") && bash.contains("--port") && bash.contains("--validation"), "{bash}");
        let zsh = String::from_utf8(completion_script(clap_complete::Shell::Zsh)).unwrap();
        assert!(zsh.starts_with("#compdef specstub") && zsh.contains("--port"), "{zsh}");
        let fish = String::from_utf8(completion_script(clap_complete::Shell::Fish)).unwrap();
        assert!(fish.contains("complete -c specstub") && fish.contains("-l port"), "{fish}");
    }

    #[test]
    fn man_page_is_roff_with_the_commands() {
        let man = String::from_utf8(man_page()).unwrap();
        assert!(man.contains(".TH specstub 1"), "{man}");
        for command in ["serve", "lint", "verify", "completions", "man", "health"] {
            assert!(man.contains(command), "{command} missing from the man page");
        }
    }

    #[test]
    fn health_reads_the_status_of_a_local_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/__specstub/health", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            use std::io::Read;
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut s, _) = listener.accept().unwrap();
                // The request may arrive in several reads: take it up to its blank line.
                let mut request = Vec::new();
                let mut chunk = [0u8; 512];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut chunk).unwrap();
                    assert!(n > 0, "the client closed before sending a whole request");
                    request.extend_from_slice(&chunk[..n]);
                }
                assert!(request.starts_with(b"GET /__specstub/health HTTP/1.1\r\n"));
                write!(s, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").unwrap();
            }
        });
        assert_eq!(health_status(&url, Duration::from_secs(3)), Ok(200));
        assert_eq!(health_status(&url, Duration::from_secs(3)), Ok(503));
        server.join().unwrap();
    }

    #[test]
    fn health_refuses_what_it_cannot_check() {
        assert!(health_status("https://example.com/", Duration::from_secs(1)).unwrap_err().contains("http://"));
        // A port nothing listens on: bound by the kernel, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(health_status(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(1)).is_err());
    }
}
