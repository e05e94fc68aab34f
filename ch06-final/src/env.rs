//! `-e`, `--env-file` and `-w`, the way Docker reads them.
//!
//! - `-e KEY=VALUE` sets a variable; `-e KEY` copies the host's value, and
//!   drops the variable if the host has none.
//! - `--env-file FILE` holds one `KEY=VALUE` (or `KEY`) per line; blank
//!   lines and lines starting with `#` are skipped. Values are taken as
//!   written: no quotes are removed and nothing is expanded.
//! - Files come first, then `-e`, so the command line wins.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::EnvArgs;

// ANCHOR: resolve_env
/// The `KEY=VALUE` list the options describe, files first.
pub fn resolve(args: &EnvArgs) -> Result<Vec<String>> {
    resolve_with(args, |key| std::env::var(key).ok())
}

/// [`resolve`] with the host's environment given as a function (tests).
pub fn resolve_with(args: &EnvArgs, host: impl Fn(&str) -> Option<String>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for file in &args.env_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let item = entry(line, &host)
                .with_context(|| format!("{}, line {}", file.display(), n + 1))?;
            out.extend(item);
        }
    }
    for item in &args.env {
        out.extend(entry(item, &host)?);
    }
    Ok(out)
}

/// One `KEY=VALUE` or `KEY`.
fn entry(text: &str, host: &impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let key = text.split('=').next().unwrap_or(text);
    if key.is_empty() || key.contains(char::is_whitespace) || key.contains('\0') {
        bail!("invalid environment variable {text:?}: use KEY=VALUE");
    }
    if text.contains('\0') {
        bail!("invalid environment variable {key}: the value contains a NUL byte");
    }
    if text.contains('=') {
        Ok(Some(text.to_string()))
    } else {
        Ok(host(key).map(|value| format!("{key}={value}")))
    }
}
// ANCHOR_END: resolve_env

/// The working directory `-w` names, which must be absolute as in Docker.
pub fn workdir(args: &EnvArgs) -> Result<Option<PathBuf>> {
    match &args.workdir {
        None => Ok(None),
        Some(dir) if Path::new(dir).is_absolute() => Ok(Some(PathBuf::from(dir))),
        Some(dir) => {
            bail!("the working directory {dir:?} is invalid: it needs to be an absolute path")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(env: &[&str], files: Vec<PathBuf>) -> EnvArgs {
        EnvArgs {
            env: env.iter().map(|s| s.to_string()).collect(),
            env_file: files,
            workdir: None,
        }
    }

    fn host(key: &str) -> Option<String> {
        (key == "FROM_HOST").then(|| "h".to_string())
    }

    #[test]
    fn values_host_values_and_missing_ones() {
        let out = resolve_with(
            &args(&["A=1", "B=", "C=x=y", "FROM_HOST", "UNSET"], vec![]),
            host,
        )
        .unwrap();
        assert_eq!(out, ["A=1", "B=", "C=x=y", "FROM_HOST=h"]);
        assert!(resolve_with(&args(&["=1"], vec![]), host).is_err());
        assert!(resolve_with(&args(&["A B=1"], vec![]), host).is_err());
    }

    #[test]
    fn files_come_first_and_skip_comments() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(
            &file,
            "# comment\n\nA=from file\n  B=\"quoted\"\nFROM_HOST\n",
        )
        .unwrap();
        let out = resolve_with(&args(&["A=cli"], vec![file.clone()]), host).unwrap();
        assert_eq!(out, ["A=from file", "B=\"quoted\"", "FROM_HOST=h", "A=cli"]);
        std::fs::write(&file, "ok=1\nbad key=2\n").unwrap();
        let err = resolve_with(&args(&[], vec![file]), host).unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }

    #[test]
    fn workdir_must_be_absolute() {
        let mut a = args(&[], vec![]);
        assert_eq!(workdir(&a).unwrap(), None);
        a.workdir = Some("/srv".into());
        assert_eq!(workdir(&a).unwrap(), Some(PathBuf::from("/srv")));
        a.workdir = Some("srv".into());
        assert!(workdir(&a).is_err());
    }
}
