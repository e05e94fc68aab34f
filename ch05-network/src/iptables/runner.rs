//! Running `iptables-save` and `iptables-restore`: at most two processes
//! per change, and the one removal that may be left to finish later.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use super::plan::{Plan, TableState, change_plan, change_script, parse_save, restore_script};
use super::{IPTABLES_VAR, Rule, Table};

/// Runs `iptables-save` and `iptables-restore`: at most two commands per
/// change, however many rules there are.
#[derive(Debug, Clone)]
pub struct Iptables {
    program: String,
}

impl Iptables {
    /// `iptables`, or what [`IPTABLES_VAR`] says.
    pub fn from_env() -> Iptables {
        let program = std::env::var(IPTABLES_VAR)
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "iptables".to_string());
        Iptables { program }
    }

    /// The command, as in `iptables-legacy`.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The current state of mydocker's chains: runs `iptables-save` and
    /// reads them out of its answer.
    pub fn current(&self) -> Result<BTreeMap<Table, TableState>> {
        Ok(parse_save(&self.save_text()?))
    }

    /// What `iptables-save` prints: every table and rule of the namespace.
    pub fn save_text(&self) -> Result<String> {
        let command = format!("{}-save", self.program);
        let out = Command::new(&command)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {command}"))?;
        if !out.status.success() {
            bail!("{command} failed: {}", first_line(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Removes whole `tables`, which the caller found empty (only built-in
    /// chains, policy ACCEPT, no rule). Without `--noflush`,
    /// `iptables-restore` replaces each table it is given by what the
    /// script declares, here nothing: the nf_tables backend deletes the
    /// table, the legacy backend (whose tables live as long as the
    /// namespace) leaves an empty one, which is what it had.
    pub fn remove_tables(&self, tables: &[Table]) -> Result<()> {
        if tables.is_empty() {
            return Ok(());
        }
        let script: String = tables
            .iter()
            .map(|t| format!("*{}\nCOMMIT\n", t.as_str()))
            .collect();
        self.spawn_restore(&["-w"], &script)?.finish()
    }

    /// Runs [`Iptables::current`] on a thread of its own and returns at
    /// once: [`Save::finish`] takes its answer later. Starting the command
    /// costs several milliseconds (the thread that spawns a process waits
    /// until it has exec'd, then it loads its extensions), which the
    /// caller spends on other things meanwhile.
    pub fn start_save(&self) -> Result<Save> {
        let iptables = self.clone();
        let thread = std::thread::Builder::new()
            .name("iptables-save".into())
            .spawn(move || iptables.current())
            .context("start a thread for iptables-save")?;
        Ok(Save { thread })
    }

    // ANCHOR: apply
    /// Makes mydocker's chains hold exactly `desired` (no chains at all when
    /// it is empty).
    pub fn apply(&self, desired: &[Rule]) -> Result<()> {
        let current = self.current()?;
        match restore_script(desired, &current) {
            Some(script) => self.restore(&script),
            None => Ok(()),
        }
    }
    // ANCHOR_END: apply

    // ANCHOR: apply_change
    /// Makes the chains hold `desired`, where they held `previous` by the
    /// records: only the difference when they still look like it (in
    /// `saved`, an `iptables-save` started earlier, or one run now), the
    /// whole chains otherwise (also when sending the difference fails).
    pub fn apply_change(
        &self,
        previous: &[Rule],
        desired: &[Rule],
        saved: Option<Save>,
    ) -> Result<()> {
        let current = match saved {
            Some(save) => save.finish()?,
            None => self.current()?,
        };
        match change_plan(previous, desired, &current) {
            Plan::Nothing => return Ok(()),
            Plan::Change(script) if self.restore(&script).is_ok() => return Ok(()),
            Plan::Change(_) | Plan::Rewrite => {}
        }
        // Read again: a failed change was not applied, but this is cheap
        // next to a wrong rewrite.
        let current = self.current()?;
        match restore_script(desired, &current) {
            Some(script) => self.restore(&script),
            None => Ok(()),
        }
    }

    /// Starts deleting `rules` (a container's DNAT rules, at its exit) with
    /// one `iptables-restore --noflush`, without reading the chains first,
    /// and returns at once; `None` when there is nothing to delete. On the
    /// nf_tables backend a command that deleted rules waits for an RCU grace
    /// period as it exits: the caller spends it on other work, then
    /// [`Restore::finish`]es. A rule that is not there fails the whole
    /// commit; the caller then rewrites the chains with [`Iptables::apply`].
    pub fn start_remove(&self, rules: &[Rule]) -> Result<Option<Restore>> {
        if rules.is_empty() {
            return Ok(None);
        }
        let rules: Vec<&Rule> = rules.iter().collect();
        self.start_restore(&change_script(&rules, &[])).map(Some)
    }
    // ANCHOR_END: apply_change

    /// Feeds `script` to `iptables-restore --noflush` and waits for it.
    fn restore(&self, script: &str) -> Result<()> {
        self.start_restore(script)?.finish()
    }

    /// Starts `iptables-restore --noflush`, gives it all of `script`, and
    /// returns without waiting for it to exit.
    fn start_restore(&self, script: &str) -> Result<Restore> {
        // -w waits for the xtables lock that other iptables users (a
        // firewall daemon, another container engine) hold while they work;
        // --noflush leaves every chain the script does not name alone.
        self.spawn_restore(&["-w", "--noflush"], script)
    }

    /// Starts `iptables-restore ARGS`, gives it all of `script`, and
    /// returns without waiting for it to exit.
    fn spawn_restore(&self, args: &[&str], script: &str) -> Result<Restore> {
        let command = format!("{}-restore", self.program);
        let mut child = Command::new(&command)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("run {command}"))?;
        // Written whole and closed: the command reads to the end, then
        // commits. (A script is a few hundred bytes: the pipe holds it.)
        let written = match child.stdin.take() {
            Some(mut stdin) => stdin.write_all(script.as_bytes()),
            None => Ok(()),
        };
        let restore = Restore {
            command,
            child: Some(child),
        };
        written.with_context(|| format!("write rules to {}", restore.command))?;
        Ok(restore)
    }
}

/// An `iptables-restore` that has its script and may still be running.
/// Dropped unfinished, it is waited for: a change is never cut short.
#[derive(Debug)]
pub struct Restore {
    command: String,
    child: Option<Child>,
}

impl Restore {
    /// Waits for the command; an error if it refused the script.
    pub fn finish(mut self) -> Result<()> {
        let child = self.child.take().expect("a restore is finished once");
        let out = child
            .wait_with_output()
            .with_context(|| format!("wait for {}", self.command))?;
        if !out.status.success() {
            bail!("{} failed: {}", self.command, first_line(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Nobody reads its complaints now: closing the pipe keeps a
            // long one from blocking it forever.
            drop(child.stderr.take());
            let _ = child.wait();
        }
    }
}

/// An `iptables-save` that runs while its caller does something else.
/// Dropped unfinished, its thread is left to end on its own (it only reads).
#[derive(Debug)]
pub struct Save {
    thread: std::thread::JoinHandle<Result<BTreeMap<Table, TableState>>>,
}

impl Save {
    /// Waits for the answer: mydocker's chains as `iptables-save` showed them.
    pub fn finish(self) -> Result<BTreeMap<Table, TableState>> {
        self.thread
            .join()
            .map_err(|_| anyhow!("the iptables-save thread panicked"))?
    }
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if line.is_empty() {
        "no error message".to_string()
    } else {
        line.trim().to_string()
    }
}
