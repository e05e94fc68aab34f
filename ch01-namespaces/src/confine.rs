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
//! caps       bounding, effective, permitted, inheritable = the 14 (or what
//!            --cap-add/--cap-drop make of them), ambient empty
//! ```
//!
//! `--privileged` skips all of it, as in Docker.

use anyhow::{Context, Result, bail};

use crate::capabilities::{self, Caps};
use crate::lifecycle::{Hook, Stage};
use crate::masks;
use crate::spec::Spec;

// ANCHOR: confinement
/// How a container is confined, from `--cap-add`, `--cap-drop`,
/// `--privileged` and `--security-opt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confinement {
    /// The capabilities root keeps.
    pub caps: Caps,
    /// No masks, no read-only paths, every capability.
    pub privileged: bool,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`: `execve` never grants privileges again
    /// (a setuid binary runs with its caller's ids).
    pub no_new_privs: bool,
}

impl Default for Confinement {
    fn default() -> Confinement {
        Confinement {
            caps: Caps::docker_default(),
            privileged: false,
            no_new_privs: false,
        }
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
        let mut confinement = Confinement {
            caps: Caps::adjusted(add, drop)?,
            privileged,
            no_new_privs: false,
        };
        if privileged {
            confinement.caps = Caps::all();
        }
        for opt in security_opts {
            match opt.as_str() {
                "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => {
                    confinement.no_new_privs = true
                }
                "no-new-privileges=false" | "no-new-privileges:false" => {}
                _ => bail!("invalid --security-opt {opt:?}: mydocker knows no-new-privileges"),
            }
        }
        Ok(confinement)
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
    pub fn restrict_process(&self) -> Result<()> {
        if self.no_new_privs {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_NO_NEW_PRIVS)");
            }
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
