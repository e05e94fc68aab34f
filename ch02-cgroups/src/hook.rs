//! Chapter 2's hook: one cgroup per container, created and limited before
//! the child exists, joined while the child waits, removed after it is gone.
//!
//! ```text
//! prepare   mkdir <parent>/<id>, write the limits   (a refusal stops here)
//!           v1: open the cgroups' `tasks` files
//! clone     the child blocks on its pipe (it inherits the open files)
//! attach    v2: write the child's pid into cgroup.procs
//! enter     v1: the child writes "0" into each `tasks`: it moves itself in
//! exec      the command starts, already limited
//! cleanup   read the OOM count, kill what is left, rmdir the cgroup (and
//!           the parent if empty)
//! ```
//!
//! The order matters. If the command started first and joined after, it
//! would run for a moment without limits, and anything it forked in that
//! moment would stay outside the cgroup for good. Either way the join is
//! done before `exec`.
//!
//! Why the child moves itself on v1: a move by pid waits for an RCU grace
//! period, which can take longer than the rest of a container's start; a
//! thread moving itself does not ([`crate::driver::SelfJoin`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use ch01_namespaces::lifecycle::{Hook, Stage};
use ch01_namespaces::spec::Spec;
use nix::unistd::Pid;

use crate::detect::{Host, Setup};
use crate::devices;
use crate::driver::{self, Driver, SelfJoin};
use crate::limits::{Limits, Resources};

/// The cgroup of one container, as a lifecycle hook.
pub struct Cgroups {
    host: Host,
    setup: Setup,
    limits: Limits,
    parent: String,
    driver: Option<Box<dyn Driver>>,
    self_join: Option<SelfJoin>,
    oom_killed: OomKilled,
}

// ANCHOR: oom_killed
/// Whether the kernel's OOM killer struck inside the container's cgroup.
///
/// The cgroup's count is read just before the cgroup is removed, the last
/// moment it exists; a later chapter that records how the container ended
/// holds a clone of this flag ([`Cgroups::oom_killed`]) and reads it after
/// the cleanup. Without it, a container killed for memory looks exactly like
/// one killed with `kill -9`: exit code 137.
#[derive(Clone, Debug, Default)]
pub struct OomKilled(Arc<AtomicBool>);

impl OomKilled {
    /// True once an OOM kill was counted in the container's cgroup.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
// ANCHOR_END: oom_killed

impl Cgroups {
    // ANCHOR: from_resources
    /// The cgroup hook for `resources` (parsed and checked once, from the
    /// command line or a record), on this host's cgroups, detected here.
    /// Nothing is created yet: that waits for the container's id, in
    /// `prepare`.
    pub fn from_resources(resources: &Resources) -> Result<Cgroups> {
        Cgroups::new(
            Host::detect()?,
            resources.limits.clone(),
            &resources.cgroup_parent,
        )
    }
    // ANCHOR_END: from_resources

    /// Limits for containers under `parent` on `host` (tests pass a host
    /// whose mount points are temporary directories).
    pub fn new(host: Host, limits: Limits, parent: &str) -> Result<Cgroups> {
        let setup = host.setup()?;
        check_name(parent, "--cgroup-parent")?;
        Ok(Cgroups {
            host,
            setup,
            limits,
            parent: parent.to_string(),
            driver: None,
            self_join: None,
            oom_killed: OomKilled::default(),
        })
    }

    /// A handle on the cgroup of an existing container, found from its id
    /// and parent: to join it (`exec`) or to remove it after a crash.
    pub fn for_container(parent: &str, id: &str) -> Result<Cgroups> {
        let mut cgroups = Cgroups::new(Host::detect()?, Limits::default(), parent)?;
        cgroups.open(id)?;
        Ok(cgroups)
    }

    /// Picks the driver for the cgroup `<parent>/<id>`, without creating it.
    fn open(&mut self, id: &str) -> Result<&dyn Driver> {
        check_name(id, "container id")?;
        let driver = self
            .driver
            .insert(driver::for_container(&self.host, &self.parent, id)?);
        Ok(&**driver)
    }

    /// How this host's cgroups are set up.
    pub fn setup(&self) -> Setup {
        self.setup
    }

    /// The limits this container gets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The parent cgroup's name.
    pub fn parent(&self) -> &str {
        &self.parent
    }

    /// The container's cgroup directory for `controller` (`"memory"`,
    /// `"cpu"`, ...); `None` before `prepare` or if it is not mounted. On
    /// cgroup v2 every controller gives the same directory.
    pub fn path_for(&self, controller: &str) -> Option<PathBuf> {
        self.driver.as_ref()?.path_for(controller)
    }

    /// Every directory of the container's cgroup (one per v1 hierarchy).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.driver.as_ref().map(|d| d.paths()).unwrap_or_default()
    }

    /// A flag that tells, once the container's cgroup is removed, whether
    /// the OOM killer struck inside it.
    pub fn oom_killed(&self) -> OomKilled {
        self.oom_killed.clone()
    }

    /// Moves `pid` into the container's cgroup.
    pub fn join(&self, pid: Pid) -> Result<()> {
        match &self.driver {
            Some(driver) => driver.join(pid),
            None => bail!("join pid {pid} to a cgroup that was never created"),
        }
    }

    /// Files through which a process forked later moves itself in, opened
    /// now, while `/sys/fs/cgroup` is still the host's: `mydocker exec`
    /// opens them, enters the container, forks, and only the child writes
    /// "0". The parent stays where it was, out of the container's memory
    /// accounting, so an OOM kill inside never picks `mydocker exec` itself.
    pub fn joiner(&self) -> Result<SelfJoin> {
        let Some(driver) = &self.driver else {
            bail!("join a cgroup that was never created");
        };
        match driver.self_join()? {
            Some(files) => Ok(files),
            None => SelfJoin::open_file(&driver.paths(), "cgroup.procs"),
        }
    }

    // ANCHOR: pause
    /// Freezes the container (`pause`): every process in its cgroup stops
    /// where it is, until [`Cgroups::unpause`]. Chapter 6 finds the cgroup
    /// from the container's record:
    ///
    /// ```no_run
    /// # fn f(cgroup_parent: &str, id: &str) -> anyhow::Result<()> {
    /// ch02_cgroups::Cgroups::for_container(cgroup_parent, id)?.pause()?;
    /// # Ok(()) }
    /// ```
    pub fn pause(&self) -> Result<()> {
        self.driver()?
            .freeze()
            .context("pause the container's cgroup")
    }

    /// Thaws a paused container (`unpause`).
    pub fn unpause(&self) -> Result<()> {
        self.driver()?
            .thaw()
            .context("unpause the container's cgroup")
    }

    /// True while the container's cgroup is frozen (`State.Paused`).
    pub fn is_paused(&self) -> Result<bool> {
        self.driver()?.frozen()
    }
    // ANCHOR_END: pause

    fn driver(&self) -> Result<&dyn Driver> {
        match &self.driver {
            Some(driver) => Ok(&**driver),
            None => bail!("the container's cgroup was never created"),
        }
    }

    // ANCHOR: destroy
    /// Kills every process left in the cgroup and removes it, and its parent
    /// when no other container is in it. Whatever does not exist is skipped,
    /// so this also cleans up after a start that failed half-way. The OOM
    /// count is read first: it goes with the cgroup. Failing to read it
    /// only costs the record that detail, never the cleanup.
    pub fn destroy(&mut self) -> Result<()> {
        let Some(driver) = &self.driver else {
            return Ok(());
        };
        match driver.oom_kills() {
            Ok(Some(n)) if n > 0 => self.oom_killed.set(),
            Ok(_) => {}
            Err(err) => eprintln!("warning: {err:#}"),
        }
        driver.kill()?;
        driver.remove()
    }
    // ANCHOR_END: destroy
}

// ANCHOR: hook
impl Hook for Cgroups {
    fn name(&self) -> &'static str {
        "cgroups"
    }

    fn stage(&self) -> Stage {
        Stage::Limits
    }

    /// Creates the cgroup and writes the limits before the child exists, so
    /// a limit the kernel refuses stops the start before anything runs; on
    /// v1, opens the files the child will use to move itself in.
    fn prepare(&mut self, spec: &mut Spec) -> Result<()> {
        let limits = self.limits.clone();
        let devices = devices::rules(spec.confinement.privileged, &limits.devices);
        let driver = self.open(&spec.id)?;
        driver.create()?;
        driver.apply(&limits)?;
        driver.allow_devices(&devices)?;
        self.self_join = driver.self_join()?;
        Ok(())
    }

    /// v2: joins the child by pid while it still waits for its release
    /// byte. v1: nothing to do here; the child has its own copies of the
    /// open `tasks` files, ours are closed.
    fn attach(&mut self, _spec: &Spec, pid: Pid) -> Result<()> {
        match self.self_join.take() {
            Some(_ours) => Ok(()),
            None => self.join(pid),
        }
    }

    /// v1: the child moves itself in, before anything of the user's runs.
    /// (The child's copy of this hook still holds the files: it was copied
    /// at `clone`, before `attach` closed the parent's.)
    fn enter(&self, _spec: &Spec) -> Result<()> {
        match &self.self_join {
            Some(files) => files
                .join()
                .context("join the container's cgroup (write 0 to tasks)"),
            None => Ok(()),
        }
    }

    fn cleanup(&mut self, _spec: &Spec) -> Result<()> {
        self.destroy()
    }
}
// ANCHOR_END: hook

/// A cgroup name is one path component: it must not climb out of the
/// hierarchy (`..`) or make one of ours look like someone else's.
pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(anyhow::anyhow!(
            "use one name made of letters, digits, '-', '_' and '.'"
        ))
        .with_context(|| format!("invalid {what} {name:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{dump, v1_fixture};

    fn spec() -> Spec {
        let mut spec = Spec::new(vec!["true".into()]).unwrap();
        spec.id = "c0ffee".into();
        spec
    }

    #[test]
    fn prepare_creates_and_limits_before_any_pid_exists() {
        let (tmp, mounts) = v1_fixture();
        let host = Host {
            v1: mounts,
            unified: None,
        };
        let limits = Limits {
            memory: Some(64 << 20),
            ..Limits::default()
        };
        let mut cgroups = Cgroups::new(host, limits, "mydocker").unwrap();
        assert!(cgroups.path_for("memory").is_none());
        cgroups.prepare(&mut spec()).unwrap();
        let memory = cgroups.path_for("memory").unwrap();
        assert_eq!(memory, tmp.path().join("memory/mydocker/c0ffee"));
        assert!(
            dump(tmp.path()).contains("memory/mydocker/c0ffee/memory.limit_in_bytes: 67108864")
        );
        assert_eq!(cgroups.paths().len(), 6);
        // Docker's device list: everything denied, then the exceptions
        // (the fake file keeps only the last one written).
        let dump = dump(tmp.path());
        assert!(
            dump.contains("devices/mydocker/c0ffee/devices.deny: a"),
            "{dump}"
        );
        assert!(
            dump.contains("devices/mydocker/c0ffee/devices.allow: c 136:* rwm"),
            "{dump}"
        );
    }

    #[test]
    fn on_v1_the_child_moves_itself_in_through_tasks() {
        let (tmp, mounts) = v1_fixture();
        let host = Host {
            v1: mounts,
            unified: None,
        };
        let mut cgroups = Cgroups::new(host, Limits::default(), "mydocker").unwrap();
        let spec = {
            let mut spec = spec();
            cgroups.prepare(&mut spec).unwrap();
            spec
        };
        // What the child does with its copy of the hook, before exec.
        cgroups.enter(&spec).unwrap();
        let tree = dump(tmp.path());
        for controller in crate::detect::CONTROLLERS {
            assert!(
                tree.contains(&format!("{controller}/mydocker/c0ffee/tasks: 0")),
                "{tree}"
            );
        }
        // The parent does not join anything by pid, and closes its copies.
        cgroups.attach(&spec, Pid::from_raw(4242)).unwrap();
        assert!(!dump(tmp.path()).contains("cgroup.procs"));
        assert!(cgroups.self_join.is_none());
    }

    #[test]
    fn names_that_would_escape_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x", "a b"] {
            let err = Cgroups::new(Host::detect().unwrap(), Limits::default(), bad);
            assert!(err.is_err(), "{bad:?} accepted");
        }
        let err = Cgroups::new(Host::detect().unwrap(), Limits::default(), "a/b");
        assert_eq!(
            format!("{:#}", err.err().unwrap()),
            "invalid --cgroup-parent \"a/b\": use one name made of letters, digits, '-', '_' and '.'"
        );
    }

    #[test]
    fn cleanup_without_prepare_does_nothing() {
        let mut cgroups = Cgroups::new(Host::detect().unwrap(), Limits::default(), "x").unwrap();
        cgroups.cleanup(&spec()).unwrap();
    }
}
