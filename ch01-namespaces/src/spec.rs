//! What the user asked for: the description of one container.
//!
//! A [`Spec`] is plain data. It is filled from the command line, then each
//! chapter's hooks may adjust it in their `prepare` step (chapter 3 points
//! [`Spec::rootfs`] at an overlay, chapter 5 adds `/etc/hosts`), and finally
//! the child reads it to become the container.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::confine::Confinement;
use crate::userns::IdMap;

/// The `PATH` Docker gives a container when the image says nothing else.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to start one container.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The container's id: 64 hexadecimal characters, shown as 12.
    pub id: String,
    /// The hostname inside the UTS namespace.
    pub hostname: String,
    /// The command and its arguments; `command[0]` is looked up in `PATH`.
    pub command: Vec<String>,
    /// The environment, as `KEY=VALUE` strings; nothing leaks from the host.
    pub env: Vec<String>,
    /// The working directory inside the container.
    pub workdir: PathBuf,
    /// The root filesystem; `None` keeps the host's (chapters 1 and 2).
    pub rootfs: Option<PathBuf>,
    /// Give the container a pseudo-terminal (`-t`).
    pub tty: bool,
    /// Keep standard input open (`-i`).
    pub interactive: bool,
    /// What root inside may still do (capabilities, masked paths).
    pub confinement: Confinement,
    /// `--userns=private`: a user namespace and where its ids land on the
    /// host; `None` keeps the host's ids (`--userns=host`, the default).
    pub userns: Option<IdMap>,
    /// `--init`: PID 1 is chapter 1's tiny init ([`crate::init`]), which
    /// forwards signals to the command and reaps orphans; otherwise the
    /// command itself is PID 1, as in Docker by default.
    pub init: bool,
}

impl Spec {
    /// A spec for `command` with a fresh id, the short id as hostname and
    /// Docker's default environment.
    pub fn new(command: Vec<String>) -> Result<Spec> {
        if command.is_empty() {
            bail!("no command specified");
        }
        let id = new_id()?;
        let hostname = short_id(&id).to_string();
        Ok(Spec {
            env: Vec::new(),
            id,
            hostname,
            command,
            workdir: PathBuf::from("/"),
            rootfs: None,
            tty: false,
            interactive: false,
            confinement: Confinement::docker_default()?,
            userns: None,
            init: false,
        })
    }

    /// The environment the command finally sees: Docker's defaults
    /// (`PATH`, `HOSTNAME`, `HOME`, and `TERM` with a terminal), overridden by
    /// whatever the user set.
    pub fn environment(&self) -> Vec<String> {
        let mut env = vec![
            format!("PATH={DEFAULT_PATH}"),
            format!("HOSTNAME={}", self.hostname),
        ];
        if self.tty {
            env.push("TERM=xterm".to_string());
        }
        env.push("HOME=/root".to_string());
        for kv in &self.env {
            let key = kv.split('=').next().unwrap_or(kv);
            env.retain(|old| old.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        env
    }

    /// The value of `key` in [`Spec::environment`].
    pub fn env_var(&self, key: &str) -> Option<String> {
        self.environment()
            .into_iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
    }
}

/// A new random container id: 32 bytes from the kernel, as 64 hex digits.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        // getrandom(2) never blocks once the kernel's pool is initialised.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("getrandom for a container id");
        }
        filled += n as usize;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The first 12 characters of an id, as `docker ps` shows it.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Checks a hostname the way the kernel and resolvers expect it: 1 to 63
/// characters of letters, digits and `-` per dot-separated label, a label
/// neither starting nor ending with `-`, at most 64 characters in all
/// (the UTS namespace's limit).
pub fn validate_hostname(name: &str) -> Result<()> {
    let ok_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.is_empty() || name.len() > 64 || !name.split('.').all(ok_label) {
        bail!("invalid hostname {name:?}: use letters, digits, '-' and '.', at most 64 characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_differ() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(short_id(&a).len(), 12);
    }

    #[test]
    fn hostnames() {
        for good in ["a", "web-1", "box.example", &"x".repeat(63)] {
            validate_hostname(good).unwrap();
        }
        for bad in ["", "-a", "a-", "a_b", "a..b", "has space", &"x".repeat(65)] {
            assert!(validate_hostname(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn user_environment_overrides_defaults() {
        let mut spec = Spec::new(vec!["sh".into()]).unwrap();
        spec.env = vec!["PATH=/bin".into(), "A=1".into()];
        let env = spec.environment();
        assert_eq!(env.iter().filter(|kv| kv.starts_with("PATH=")).count(), 1);
        assert_eq!(spec.env_var("PATH").as_deref(), Some("/bin"));
        assert_eq!(spec.env_var("A").as_deref(), Some("1"));
    }
}
