//! Chapter 1's last hook: what root inside the container may still do.
//!
//! Namespaces change what a process *sees*; they do not change what root
//! may *do*. This hook runs last in the child, after every mount of every
//! chapter (they need `CAP_SYS_ADMIN`) and just before `execve`:
//!
//! ```text
//! mask       /proc/kcore, /proc/keys, ... hidden (crate::masks)
//! read-only  /proc/sys, /proc/sysrq-trigger, ...
//! no_new_privs  with --security-opt no-new-privileges
//! seccomp    Docker's default profile (or --security-opt seccomp=FILE),
//!            compiled in the parent (crate::seccomp), loaded here
//! caps       bounding, effective, permitted, inheritable = the 14 (or what
//!            --cap-add/--cap-drop make of them), ambient empty
//! ```
//!
//! `--privileged` skips all of it, as in Docker: every capability, no masks,
//! no seccomp filter.

use anyhow::{Context, Result, bail};

use crate::capabilities::{self, Caps};
use crate::lifecycle::{Hook, Stage};
use crate::masks;
use crate::seccomp::{self, Profile};
use crate::spec::Spec;

// ANCHOR: confinement
/// How a container is confined, from `--cap-add`, `--cap-drop`,
/// `--privileged` and `--security-opt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// The capabilities root keeps.
    pub caps: Caps,
    /// No masks, no read-only paths, every capability.
    pub privileged: bool,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`: `execve` never grants privileges again
    /// (a setuid binary runs with its caller's ids).
    pub no_new_privs: bool,
    /// The seccomp filter, compiled for `caps` (BPF instructions), or none
    /// (`--security-opt seccomp=unconfined`, `--privileged`).
    pub seccomp: Option<Vec<u8>>,
}

impl Confinement {
    /// Docker's defaults: the 14 capabilities, the masks, and Docker's
    /// seccomp profile compiled for them. A filter that cannot be compiled
    /// is an error, never a container without one.
    pub fn docker_default() -> Result<Confinement> {
        Confinement::from_flags(&[], &[], false, &[])
    }
}
// ANCHOR_END: confinement

impl Confinement {
    /// From Docker's flags; `security_opts` are `--security-opt` values.
    pub fn from_flags(
        add: &[String],
        drop: &[String],
        privileged: bool,
        security_opts: &[String],
    ) -> Result<Confinement> {
        let caps = if privileged {
            Caps::all()
        } else {
            Caps::adjusted(add, drop)?
        };
        let mut no_new_privs = false;
        let mut profile = Some(Profile::docker_default());
        for opt in security_opts {
            // Docker takes both `key=value` and the older `key:value`.
            let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
            match (key, value) {
                ("no-new-privileges", "" | "true") => no_new_privs = true,
                ("no-new-privileges", "false") => no_new_privs = false,
                ("seccomp", "unconfined") => profile = None,
                ("seccomp", "") => bail!(
                    "invalid --security-opt {opt:?}: seccomp needs =PROFILE.json or =unconfined"
                ),
                ("seccomp", file) => {
                    profile = Some(Profile::from_file(std::path::Path::new(file))?)
                }
                _ => bail!(
                    "invalid --security-opt {opt:?}: mydocker knows no-new-privileges and seccomp=PROFILE|unconfined"
                ),
            }
        }
        let seccomp = match profile {
            Some(profile) if !privileged => Some(profile.compile(caps)?),
            _ => None,
        };
        Ok(Confinement {
            caps,
            privileged,
            no_new_privs,
            seccomp,
        })
    }

    /// The file of a `--security-opt seccomp=FILE`, if one was given (a
    /// container's record keeps the profile itself: the file may change).
    pub fn seccomp_file(security_opts: &[String]) -> Option<&str> {
        security_opts.iter().rev().find_map(|opt| {
            let (key, value) = opt.split_once(['=', ':'])?;
            (key == "seccomp" && value != "unconfined").then_some(value)
        })
    }

    /// The same confinement with the filter compiled from this profile
    /// text instead (unless privileged or unconfined).
    pub fn with_profile(mut self, profile: &str) -> Result<Confinement> {
        if self.seccomp.is_some() {
            self.seccomp = Some(Profile::parse(profile)?.compile(self.caps)?);
        }
        Ok(self)
    }

    // ANCHOR: apply
    /// Confines the calling process (the container, just before `execve`):
    /// its mounts, then the process itself.
    pub fn apply(&self) -> Result<()> {
        if !self.privileged {
            for path in masks::MASKED {
                masks::mask(path)?;
            }
            for path in masks::READ_ONLY {
                masks::read_only(path)?;
            }
        }
        self.restrict_process()
    }

    /// The part that belongs to a process, not to the mounts: what a
    /// process `exec`ed into a running container gets too (the masks are
    /// already there, in the mount namespace it joined).
    ///
    /// The order matters. Without no_new_privs, loading a seccomp filter
    /// needs `CAP_SYS_ADMIN`, so the filter goes on before the capabilities
    /// go; the capability calls that follow (`prctl`, `capset`) are ones
    /// Docker's profile allows.
    pub fn restrict_process(&self) -> Result<()> {
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_NO_NEW_PRIVS)");
            }
        }
        if let Some(bpf) = &self.seccomp {
            seccomp::load(bpf)?;
        }
        capabilities::restrict_to(self.caps)
    }
    // ANCHOR_END: apply
}

/// The hook: the spec's confinement, applied last.
pub struct Confine;

impl Hook for Confine {
    fn name(&self) -> &'static str {
        "confinement"
    }

    fn stage(&self) -> Stage {
        Stage::Confine
    }

    fn enter(&self, spec: &Spec) -> Result<()> {
        spec.confinement.apply()
    }
}
