//! The last step in the child: find the command and let it replace us.
//!
//! `execve(2)` does not return when it works: the same process, with the same
//! pid (1, inside the new PID namespace), now runs the user's program. That is
//! why nothing written after it ever runs, and why the only way to report a
//! failure is the error pipe described in [`crate::lifecycle`].

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::spec::Spec;

/// Why the child could not become the container, and the exit code Docker
/// uses for it: 125 for our own errors, 126 when the command cannot be
/// executed, 127 when it is not found.
#[derive(Debug)]
pub struct Failure {
    /// The exit code to report.
    pub code: u8,
    /// One line for stderr.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and the error's whole chain as its message.
    pub fn new(code: u8, err: anyhow::Error) -> Failure {
        Failure {
            code,
            message: format!("{err:#}"),
        }
    }

    fn text(code: u8, message: String) -> Failure {
        Failure { code, message }
    }
}

// ANCHOR: exec
/// Changes to the working directory and executes the command with the
/// container's environment. Returns only if that failed.
pub fn exec(spec: &Spec) -> Failure {
    let name = &spec.command[0];
    let path = match find_executable(name, &spec.env_var("PATH").unwrap_or_default()) {
        Ok(path) => path,
        Err(failure) => return failure,
    };
    // A working directory that is not there means the command cannot be
    // run as asked: 126, as Docker's `exec -w /missing` (`run` creates it
    // first, chapter 6's Workdir hook).
    if let Err(err) = nix::unistd::chdir(&spec.workdir) {
        return Failure::text(
            126,
            format!(
                "chdir to {}: {}",
                spec.workdir.display(),
                err.desc().to_lowercase()
            ),
        );
    }
    let to_c = |s: &str| {
        CString::new(s).map_err(|_| Failure::text(125, format!("{s:?} contains a NUL byte")))
    };
    let c_args: Result<Vec<CString>, Failure> = spec.command.iter().map(|a| to_c(a)).collect();
    let c_env: Result<Vec<CString>, Failure> = spec.environment().iter().map(|e| to_c(e)).collect();
    let c_path = to_c(&path.to_string_lossy());
    let (c_args, c_env, c_path) = match (c_args, c_env, c_path) {
        (Ok(a), Ok(e), Ok(p)) => (a, e, p),
        (Err(f), _, _) | (_, Err(f), _) | (_, _, Err(f)) => return f,
    };
    // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored
    // across execve: without this, `yes | head -1` inside would complain
    // about a broken pipe instead of dying quietly as it does everywhere else.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let err = match nix::unistd::execve(&c_path, &c_args, &c_env) {
        Err(err) => err,
        Ok(never) => match never {},
    };
    let code = if err == Errno::ENOENT { 127 } else { 126 };
    Failure::text(
        code,
        format!("exec {name:?}: {}", err.desc().to_lowercase()),
    )
}
// ANCHOR_END: exec

// ANCHOR: find_executable
/// Looks `name` up the way a shell does: a name with a `/` is a path, any other
/// is searched in each directory of `path_var`. This runs inside the
/// container, so the search sees the container's files, not the host's.
pub fn find_executable(name: &str, path_var: &str) -> Result<PathBuf, Failure> {
    let check = |candidate: &Path| -> Result<(), Failure> {
        let meta = std::fs::metadata(candidate)
            .map_err(|_| Failure::text(127, format!("exec {name:?}: no such file or directory")))?;
        if meta.is_dir() {
            return Err(Failure::text(126, format!("exec {name:?}: is a directory")));
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(Failure::text(
                126,
                format!("exec {name:?}: permission denied"),
            ));
        }
        Ok(())
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        return check(&path).map(|()| path);
    }
    let mut not_executable = None;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(f) if f.code == 126 => {
                not_executable.get_or_insert(f);
            }
            Err(_) => {}
        }
    }
    Err(not_executable.unwrap_or_else(|| {
        Failure::text(
            127,
            format!("exec {name:?}: executable file not found in $PATH"),
        )
    }))
}
// ANCHOR_END: find_executable

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_path_and_reports_docker_codes() {
        assert_eq!(
            find_executable("sh", "/nonexistent:/bin").unwrap(),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(
            find_executable("no-such-cmd", "/bin").unwrap_err().code,
            127
        );
        assert_eq!(find_executable("/tmp", "").unwrap_err().code, 126);
        let plain = std::env::temp_dir().join(format!("not-executable-{}", std::process::id()));
        std::fs::write(&plain, "data").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let code = find_executable(plain.to_str().unwrap(), "")
            .unwrap_err()
            .code;
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(code, 126);
        assert_eq!(find_executable("/no/such/file", "").unwrap_err().code, 127);
    }
}
