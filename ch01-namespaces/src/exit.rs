//! Exit codes, the way Docker reports them.
//!
//! | code    | meaning                                        |
//! |---------|------------------------------------------------|
//! | 0..=255 | the command's own exit code                    |
//! | 1       | a command other than `run` failed (`rm` of a running container, no such container) |
//! | 125     | mydocker itself failed (bad flag, kernel error) |
//! | 126     | the command exists but cannot be executed       |
//! | 127     | the command was not found                       |
//! | 128+N   | the command was killed by signal N (137 = KILL) |

use std::fmt;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

/// The code for mydocker's own errors.
pub const MYDOCKER_ERROR: u8 = 125;

/// Docker's code for a failed command other than `run` (`rm`, `start`,
/// `logs`, `exec` into a stopped container...): 125 is `run`'s, which must
/// tell mydocker's failures from the container's own exit codes; the other
/// commands have no container's code to keep apart, and say 1.
pub const COMMAND_ERROR: u8 = 1;

/// A container that could not start, with the exit code Docker gives it.
#[derive(Debug)]
pub struct StartError {
    /// 125, 126 or 127.
    pub code: u8,
    /// What went wrong, in one line.
    pub message: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartError {}

/// The program's name for messages: the last part of `argv[0]`.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "mydocker".to_string())
}

/// Prints `err` as one line on stderr and returns its exit code.
pub fn report(err: &anyhow::Error) -> u8 {
    let line = format!("{err:#}").replace('\n', " ");
    eprintln!("{}: {line}", program_name());
    err.downcast_ref::<StartError>()
        .map_or(MYDOCKER_ERROR, |e| e.code)
}

/// [`report`] for a command other than `run`: the line on stderr, and
/// [`COMMAND_ERROR`] unless the error carries a code of its own (`exec`'s
/// 126 and 127).
pub fn report_command(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<StartError>() {
        Some(_) => report(err),
        None => {
            report(err);
            COMMAND_ERROR
        }
    }
}

/// The shared `main` of every chapter: rewrite the seed's spellings, parse
/// with clap, run `body`, and turn its result into an exit code. A bad
/// command line gets clap's first line (no usage dump) and code 125.
pub fn run_main<C: Parser>(body: impl FnOnce(C) -> anyhow::Result<i32>) -> ExitCode {
    let args = crate::dialect::normalize(&C::command(), std::env::args_os().collect());
    let cli = match C::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(clap_error(&err)),
    };
    match body(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => ExitCode::from(report(&err)),
    }
}

/// Prints a clap error (or help) and returns the exit code to use.
pub fn clap_error(err: &clap::Error) -> u8 {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                MYDOCKER_ERROR
            } else {
                0
            }
        }
        _ => {
            // clap explains over several lines; keep the explanation, drop
            // the usage and the hint, and fold it into one line.
            let rendered = err.render().to_string();
            let explanation: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            let line = explanation.join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("{}: {line}", program_name());
            MYDOCKER_ERROR
        }
    }
}
