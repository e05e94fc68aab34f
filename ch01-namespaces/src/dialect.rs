//! Two spellings of one command line.
//!
//! The seed project parses flags the Go way, where a long name takes a single
//! dash: `-name a`, `-net br0`, `-cpushare 512`. Docker (and clap) write
//! `--name`, `--net`. Single-letter flags may be bunched in both: `-ti`,
//! `-it`. Before clap sees the arguments, [`normalize`] rewrites every
//! single-dash word that is a long option of the command being parsed
//! (`-name` → `--name`), and leaves everything else alone, in particular
//! every argument of the container's own command.

use std::ffi::OsString;

use clap::{Arg, Command};

// ANCHOR: normalize
/// Rewrites Go-style `-long` options into `--long` for `cmd` (and its
/// subcommands), stopping at the first positional argument that is not a
/// subcommand: from there on the words belong to the container's command.
pub fn normalize(cmd: &Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    if let Some(program) = args.next() {
        out.push(program);
    }
    let mut cmd = cmd.clone();
    // Global options (such as `--root`) are declared once, at the top, and
    // are valid in every subcommand: carry them down as we descend.
    let mut globals: Vec<Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let mut passthrough = false;
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if passthrough {
            out.push(arg);
        } else if text == "--" {
            passthrough = true;
            out.push(arg);
        } else if let Some(long) = text.strip_prefix("--") {
            out.push(arg);
            let name = long.split('=').next().unwrap_or(long);
            if !long.contains('=') && find_long(&cmd, name).is_some_and(takes_value) {
                out.extend(args.next());
            }
        } else if let Some(word) = text.strip_prefix('-').filter(|w| !w.is_empty()) {
            let name = word.split('=').next().unwrap_or(word);
            if name.len() > 1 && find_long(&cmd, name).is_some() {
                // The Go spelling: one dash before a long name.
                out.push(OsString::from(format!("-{text}")));
                if !word.contains('=') && find_long(&cmd, name).is_some_and(takes_value) {
                    out.extend(args.next());
                }
            } else {
                out.push(arg);
                if short_cluster_wants_next(&cmd, word) {
                    out.extend(args.next());
                }
            }
        } else if let Some(sub) = cmd.find_subcommand(&text).cloned() {
            cmd = sub;
            globals.extend(cmd.get_arguments().filter(|a| a.is_global_set()).cloned());
            for global in &globals {
                if cmd.get_arguments().all(|a| a.get_id() != global.get_id()) {
                    cmd = cmd.arg(global.clone());
                }
            }
            out.push(arg);
        } else {
            // The first positional (an image or the command): stop rewriting.
            passthrough = true;
            out.push(arg);
        }
    }
    out
}
// ANCHOR_END: normalize

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|all| all.contains(&name))
    })
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// For `-ti` or `-m64m`: does the last flag of the bunch take the next word
/// as its value?
fn short_cluster_wants_next(cmd: &Command, word: &str) -> bool {
    for (i, c) in word.char_indices() {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(c)) else {
            return false;
        };
        if takes_value(arg) {
            return i + c.len_utf8() == word.len();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{ArgAction, Command};

    fn cli() -> Command {
        Command::new("x")
            .arg(Arg::new("root").long("root").global(true))
            .subcommand(
                Command::new("run")
                    .arg(Arg::new("tty").short('t').action(ArgAction::SetTrue))
                    .arg(Arg::new("i").short('i').action(ArgAction::SetTrue))
                    .arg(Arg::new("name").long("name"))
                    .arg(Arg::new("mem").short('m').long("memory"))
                    .arg(Arg::new("share").long("cpu-shares").alias("cpushare"))
                    .arg(Arg::new("cmd").num_args(1..).trailing_var_arg(true)),
            )
    }

    fn norm(line: &str) -> String {
        let args = line.split(' ').map(OsString::from).collect();
        let out = normalize(&cli(), args);
        out.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn go_style_long_flags_get_two_dashes() {
        assert_eq!(norm("x run -ti -name a sh"), "x run -ti --name a sh");
        assert_eq!(norm("x run -cpushare 512 sh"), "x run --cpushare 512 sh");
        assert_eq!(norm("x run -name=a sh"), "x run --name=a sh");
        // A global option is known in every subcommand.
        assert_eq!(
            norm("x run -root /r -name a sh"),
            "x run --root /r --name a sh"
        );
    }

    #[test]
    fn values_and_the_command_are_left_alone() {
        // "-name" after the command belongs to the command.
        assert_eq!(norm("x run -it sh -c -name"), "x run -it sh -c -name");
        // A value that looks like a flag is a value.
        assert_eq!(norm("x run --name -name sh"), "x run --name -name sh");
        assert_eq!(norm("x run -m -name sh"), "x run -m -name sh");
        assert_eq!(norm("x run -tm -name sh"), "x run -tm -name sh");
        assert_eq!(norm("x run -- -name"), "x run -- -name");
    }
}
