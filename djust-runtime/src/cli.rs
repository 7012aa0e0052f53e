//! The command line of a djust application: `--addr`, `--redis`, the
//! `audit` subcommand, `--help`, options the application declares, and
//! logging set up from `RUST_LOG`.
//!
//! ```no_run
//! # use djust_runtime::server::App;
//! # async fn demo(app: App) -> std::process::ExitCode {
//! // `program [--addr HOST:PORT] [--redis URL]` serves;
//! // `program audit [--json] [--verbose] [--strict]` prints the audit.
//! djust_runtime::cli::run(app).await
//! # }
//! ```
//!
//! An application with its own options declares them and builds its app
//! from the parsed arguments:
//!
//! ```no_run
//! # use djust_runtime::{cli::Cli, server::App};
//! # async fn demo() -> std::process::ExitCode {
//! Cli::new("contacts")
//!     .option("db", "PATH", "the SQLite database file (default contacts.db)")
//!     .run(|args| async move {
//!         let db = args.get("db").unwrap_or("contacts.db").to_owned();
//!         if args.serves() {
//!             println!("Contacts on http://{}/ (database {db})", args.addr());
//!         }
//!         Ok(App::new())
//!     })
//!     .await
//! # }
//! ```
//!
//! Nothing here exits the process: [`Cli::run`] returns the exit code for
//! `main` to return (0 on success, 1 when the app fails to start or
//! `audit --strict` finds a problem, 2 for a usage error), after printing
//! what went wrong on standard error.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;

use crate::config::Config;
use crate::server::App;
use crate::view::{Error, Result};

/// The address served when `--addr` is not given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";

/// An option the application adds: `--name VALUE`.
#[derive(Debug, Clone)]
struct Declared {
    name: &'static str,
    value: &'static str,
    help: &'static str,
}

/// The command line's shape: the built-in flags plus the application's.
#[derive(Debug, Clone)]
pub struct Cli {
    program: String,
    declared: Vec<Declared>,
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve (the default).
    Serve,
    /// `audit` with its own arguments (`--json`, `--verbose`, `--strict`).
    Audit(Vec<String>),
    /// `--help`.
    Help,
}

/// The parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    addr: String,
    redis: Option<String>,
    command: Command,
    values: BTreeMap<&'static str, String>,
}

/// A command line that cannot be used; its text says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl Cli {
    /// The command line of `program` (shown in the usage text).
    pub fn new(program: &str) -> Self {
        Cli {
            program: program.to_owned(),
            declared: Vec::new(),
        }
    }

    /// Declares `--name VALUE` (read with [`Args::get`]); `value` names the
    /// value in the usage text and `help` says what it is.
    pub fn option(mut self, name: &'static str, value: &'static str, help: &'static str) -> Self {
        self.declared.push(Declared { name, value, help });
        self
    }

    /// The usage text.
    pub fn usage(&self) -> String {
        let mut text = format!(
            "usage: {program} [--addr HOST:PORT] [--redis URL]{extra}\n       {program} audit [--json] [--verbose] [--strict]\n\noptions:\n  --addr HOST:PORT  where to serve (default {DEFAULT_ADDR})\n  --redis URL       share sessions, limits and logouts through Redis (sets DJUST_REDIS_URL)\n",
            program = self.program,
            extra = self
                .declared
                .iter()
                .map(|d| format!(" [--{} {}]", d.name, d.value))
                .collect::<String>(),
        );
        for declared in &self.declared {
            let flag = format!("--{} {}", declared.name, declared.value);
            text.push_str(&format!("  {flag:<17} {}\n", declared.help));
        }
        text.push_str("  --help            this text\n\nSettings come from DJUST_* environment variables (docs/security.md); RUST_LOG sets the log level (default info).\n");
        text
    }

    /// Parses `args` (without the program name).
    pub fn parse_from<I, S>(&self, args: I) -> std::result::Result<Args, UsageError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut parsed = Args {
            addr: DEFAULT_ADDR.to_owned(),
            redis: None,
            command: Command::Serve,
            values: BTreeMap::new(),
        };
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            if arg == "audit" && parsed.command == Command::Serve {
                parsed.command = Command::Audit(args.by_ref().collect());
                break;
            }
            if arg == "--help" || arg == "-h" {
                parsed.command = Command::Help;
                continue;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(UsageError(format!("unexpected argument `{}`", shown(&arg))));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (flag, None),
            };
            let known =
                matches!(name, "addr" | "redis") || self.declared.iter().any(|d| d.name == name);
            if !known {
                return Err(UsageError(format!("unknown option `--{}`", shown(name))));
            }
            let Some(value) = inline.or_else(|| args.next()) else {
                return Err(UsageError(format!("`--{name}` needs a value")));
            };
            match name {
                "addr" => parsed.addr = value,
                "redis" => parsed.redis = Some(value),
                _ => {
                    if let Some(declared) = self.declared.iter().find(|d| d.name == name) {
                        parsed.values.insert(declared.name, value);
                    }
                }
            }
        }
        Ok(parsed)
    }

    /// Sets up logging, parses the process's arguments, builds the app with
    /// `build` and serves it or prints its audit. Returns the exit code.
    pub async fn run<F, Fut>(self, build: F) -> ExitCode
    where
        F: FnOnce(Args) -> Fut,
        Fut: Future<Output = Result<App>>,
    {
        init_logging();
        let args = match self.parse_from(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(error) => {
                report(&format!("error: {error}\n\n{}", self.usage()));
                return ExitCode::from(2);
            }
        };
        if args.command == Command::Help {
            print(&self.usage());
            return ExitCode::SUCCESS;
        }
        let app = match build(args.clone()).await.and_then(|app| args.apply(app)) {
            Ok(app) => app,
            Err(error) => {
                report(&format!("error: {error:?}\n"));
                return ExitCode::FAILURE;
            }
        };
        match &args.command {
            Command::Audit(audit_args) => {
                let (text, code) = crate::audit::run_cli_with(audit_args, &app.audit_report());
                print(&text);
                ExitCode::from(u8::try_from(code).unwrap_or(1))
            }
            Command::Serve | Command::Help => match app.serve(args.addr()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    report(&format!("error: {error:?}\n"));
                    ExitCode::FAILURE
                }
            },
        }
    }
}

impl Args {
    /// Where to serve (`--addr`, default [`DEFAULT_ADDR`]).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `--redis`, if given.
    pub fn redis(&self) -> Option<&str> {
        self.redis.as_deref()
    }

    /// The value of an option the application declared.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// What was asked for.
    pub fn command(&self) -> &Command {
        &self.command
    }

    /// `true` when the program is about to serve (not `audit`): the place
    /// to print a banner.
    pub fn serves(&self) -> bool {
        self.command == Command::Serve
    }

    /// The settings: `DJUST_*` from the environment, with `--redis` as
    /// `DJUST_REDIS_URL`, validated.
    pub fn config(&self) -> Result<Config> {
        let mut config = Config::from_env().map_err(Error::config)?;
        self.apply_to(&mut config)?;
        Ok(config)
    }

    fn apply_to(&self, config: &mut Config) -> Result<()> {
        if let Some(url) = &self.redis {
            config.redis_url = Some(url.clone());
        }
        config.validate().map_err(Error::config)
    }

    /// Gives `app` the settings: its own (`App::config`) with `--redis`
    /// applied, else [`Args::config`].
    fn apply(&self, mut app: App) -> Result<App> {
        let config = match app.config.take() {
            Some(mut config) => {
                self.apply_to(&mut config)?;
                config
            }
            None => self.config()?,
        };
        Ok(app.config(config))
    }
}

/// Serves `app` with the built-in command line (`--addr`, `--redis`,
/// `audit`, `--help`) and logging; returns the exit code for `main`.
pub async fn run(app: App) -> ExitCode {
    let program = std::env::args()
        .next()
        .and_then(|path| {
            std::path::Path::new(&path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "app".to_owned());
    Cli::new(&program).run(|_| async { Ok(app) }).await
}

/// Logs to standard error at `RUST_LOG`'s level (default `info`), unless
/// the program installed a subscriber already.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A command-line argument as shown back in an error: at most 100
/// characters, control characters escaped.
fn shown(arg: &str) -> String {
    arg.chars().take(100).flat_map(char::escape_debug).collect()
}

/// Writes the program's output (usage, audit report) to standard output.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes an error for the person who ran the program to standard error.
fn report(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Cli {
        Cli::new("demo").option("db", "PATH", "the database")
    }

    #[test]
    fn defaults_flags_and_declared_options() {
        let args = cli().parse_from(Vec::<String>::new()).expect("empty");
        assert_eq!(args.addr(), DEFAULT_ADDR);
        assert!(args.serves());
        let args = cli()
            .parse_from([
                "--addr",
                "0.0.0.0:9000",
                "--db=x.db",
                "--redis",
                "redis://r/0",
            ])
            .expect("flags");
        assert_eq!(args.addr(), "0.0.0.0:9000");
        assert_eq!(args.get("db"), Some("x.db"));
        assert_eq!(args.redis(), Some("redis://r/0"));
        assert_eq!(args.get("other"), None);
    }

    #[test]
    fn audit_takes_the_rest_of_the_line() {
        let args = cli()
            .parse_from(["--db", "x", "audit", "--json", "--strict"])
            .expect("audit");
        assert_eq!(
            args.command(),
            &Command::Audit(vec!["--json".into(), "--strict".into()])
        );
        assert!(!args.serves());
        assert_eq!(
            cli().parse_from(["--help"]).expect("help").command(),
            &Command::Help
        );
    }

    #[test]
    fn hostile_and_unknown_arguments_are_clear_errors() {
        let error = cli().parse_from(["--bogus"]).expect_err("unknown");
        assert_eq!(error.to_string(), "unknown option `--bogus`");
        let error = cli().parse_from(["--addr"]).expect_err("no value");
        assert_eq!(error.to_string(), "`--addr` needs a value");
        let error = cli().parse_from(["serve"]).expect_err("positional");
        assert_eq!(error.to_string(), "unexpected argument `serve`");
        let error = cli()
            .parse_from(["--x\u{1b}[31m\r\nINFO forged"])
            .expect_err("control characters");
        assert!(!error.to_string().contains('\u{1b}'), "{error}");
        assert!(!error.to_string().contains('\n'), "{error}");
        let long = format!("--{}", "a".repeat(10_000));
        assert!(
            cli()
                .parse_from([long])
                .expect_err("long")
                .to_string()
                .len()
                < 200
        );
        assert!(cli().usage().contains("--db PATH"));
    }

    #[test]
    fn redis_flag_is_validated_like_the_variable() {
        let args = cli()
            .parse_from(["--redis", "http://not-redis"])
            .expect("parsed");
        let mut config = Config::default();
        let error = args.apply_to(&mut config).expect_err("not a redis URL");
        assert!(error.to_string().contains("DJUST_REDIS_URL"), "{error}");
    }
}
