//! `audit [--json] [--verbose] [--strict]`: argument parsing and exit codes,
//! without any I/O. The application's CLI passes its arguments and prints
//! what comes back.

use super::{audit_registered, AuditReport, Severity};
use crate::config::Config;

/// Usage text, returned with exit code 2 for an unknown argument and 0 for
/// `--help`.
pub const USAGE: &str = "\
usage: audit [--json] [--verbose] [--strict]

Lists every live view: auth, exposed state, handlers and their decorators,
then security findings (codes DJ001..DJ009).

  --json      machine-readable output (for CI)
  --verbose   show the sub-paths the template reads below each field
  --strict    exit with 1 when a finding of severity warning or error exists
  -h, --help  show this text
";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Flags {
    json: bool,
    verbose: bool,
    strict: bool,
}

enum Parsed {
    Run(Flags),
    Help,
    Bad(String),
}

fn parse(args: &[String]) -> Parsed {
    let mut flags = Flags::default();
    let args = match args.first() {
        Some(first) if first == "audit" => &args[1..],
        _ => args,
    };
    for arg in args {
        match arg.as_str() {
            "--json" => flags.json = true,
            "--verbose" | "-v" => flags.verbose = true,
            "--strict" => flags.strict = true,
            "--help" | "-h" => return Parsed::Help,
            other => return Parsed::Bad(other.to_owned()),
        }
    }
    Parsed::Run(flags)
}

/// Runs `audit [--json] [--verbose] [--strict]` over every registered view
/// and returns (output, exit code). A leading `audit` argument is skipped.
///
/// Exit codes: 0 on success (and for `--help`); 1 with `--strict` when a
/// finding of severity warning or error exists; 2 for an unknown argument
/// (the output is then an error line and [`USAGE`]).
pub fn run_cli(args: &[String], config: &Config) -> (String, i32) {
    match parse(args) {
        Parsed::Run(flags) => render(&audit_registered(config), flags),
        other => not_run(other),
    }
}

fn not_run(parsed: Parsed) -> (String, i32) {
    match parsed {
        Parsed::Bad(arg) => (format!("audit: unknown argument `{arg}`\n\n{USAGE}"), 2),
        Parsed::Help | Parsed::Run(_) => (USAGE.to_owned(), 0),
    }
}

fn render(report: &AuditReport, flags: Flags) -> (String, i32) {
    let failing = flags.strict && report.has_findings_at_least(Severity::Warning);
    let mut output = if flags.json {
        format!("{:#}\n", report.to_json())
    } else {
        report.to_text(flags.verbose)
    };
    if failing && !flags.json {
        output.push_str(
            "\naudit --strict: failing because of findings of severity warning or error\n",
        );
    }
    (output, i32::from(failing))
}

/// Like [`run_cli`], but over `report` instead of the registry.
pub fn run_cli_with(args: &[String], report: &AuditReport) -> (String, i32) {
    match parse(args) {
        Parsed::Run(flags) => render(report, flags),
        other => not_run(other),
    }
}
