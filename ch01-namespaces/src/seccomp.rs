//! Seccomp: which system calls the container may make at all.
//!
//! Capabilities decide what root may do *with* a system call; seccomp
//! decides which system calls reach the kernel in the first place. The
//! kernel runs a small classic-BPF program on every system call the process
//! makes, with the call's number, architecture and arguments as input, and
//! the program's answer (allow, fail with an errno, kill) is final. A
//! filter can only ever be made stricter: it is inherited across `fork` and
//! `execve`, and a later filter is added to it, never put in its place.
//!
//! The rules come from a profile in the JSON format Docker and podman read
//! (`--security-opt seccomp=PROFILE.json`); by default it is Docker's own
//! default profile, shipped unmodified (tests/fixtures/seccomp, with its
//! licence). The profile is turned into BPF in the parent, by Debian's
//! libseccomp, and the child only hands the finished program to the kernel,
//! last, just before `execve`:
//!
//! ```text
//! parent   profile.json --(rules for these caps, this arch)--> libseccomp --> BPF bytes
//! child    seccomp(SECCOMP_SET_MODE_FILTER, BPF bytes); execve(...)
//! ```

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result, bail};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde::Deserialize;

use crate::capabilities::{self, Caps};

/// Docker's default profile, byte for byte (Apache-2.0, see the LICENSE
/// beside it).
pub const DOCKER_DEFAULT: &str = include_str!("../tests/fixtures/seccomp/docker-default.json");

// ANCHOR: profile
/// A seccomp profile in Docker's JSON format: a default action, and rules
/// that each name system calls and the action they get instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// What every system call no rule names gets (Docker: `SCMP_ACT_ERRNO`).
    pub default_action: String,
    /// The errno of an `SCMP_ACT_ERRNO` default (Docker: 1, `EPERM`).
    #[serde(default)]
    pub default_errno_ret: Option<i32>,
    /// Architectures and the others their processes may also use (x86_64
    /// programs may make 32-bit x86 calls: the filter must cover both).
    #[serde(default)]
    pub arch_map: Vec<ArchMap>,
    /// The rules, in order.
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

/// One entry of `archMap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    /// `SCMP_ARCH_X86_64` and so on.
    pub architecture: String,
    /// The architectures a process of this one may also call in.
    #[serde(default)]
    pub sub_architectures: Option<Vec<String>>,
}

/// One rule: these system calls get this action, when the arguments match
/// and the includes/excludes say it applies to this container.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The system calls, by name.
    #[serde(default)]
    pub names: Vec<String>,
    /// The older spelling of a one-call rule.
    #[serde(default)]
    pub name: Option<String>,
    /// `SCMP_ACT_ALLOW`, `SCMP_ACT_ERRNO`, ...
    pub action: String,
    /// The errno of an `SCMP_ACT_ERRNO` rule.
    #[serde(default)]
    pub errno_ret: Option<i32>,
    /// Conditions on the arguments.
    #[serde(default)]
    pub args: Vec<Arg>,
    /// The rule applies only when all of these hold.
    #[serde(default)]
    pub includes: Filter,
    /// The rule does not apply when any of these holds.
    #[serde(default)]
    pub excludes: Filter,
}

/// A condition on one argument: `args[index] OP value` (for
/// `SCMP_CMP_MASKED_EQ`: `args[index] & value == value_two`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    /// Which argument, from 0.
    pub index: u32,
    /// The value compared with (the mask, for `SCMP_CMP_MASKED_EQ`).
    pub value: u64,
    /// The value the masked argument must equal.
    #[serde(default)]
    pub value_two: u64,
    /// `SCMP_CMP_EQ`, `SCMP_CMP_NE`, `SCMP_CMP_MASKED_EQ`, ...
    pub op: String,
}

/// When a rule applies: the container's capabilities, the machine's
/// architecture (Go's names: amd64, arm64, ...), the running kernel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// `CAP_SYS_ADMIN` and so on.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Go's architecture names.
    #[serde(default)]
    pub arches: Vec<String>,
    /// `4.8`: only on kernels at least this new.
    #[serde(default)]
    pub min_kernel: Option<String>,
}
// ANCHOR_END: profile

impl Profile {
    /// Reads a profile file; a file that is not a profile is an error that
    /// names it.
    pub fn from_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read seccomp profile {}", path.display()))?;
        Profile::parse(&text).with_context(|| format!("seccomp profile {}", path.display()))
    }

    /// Parses a profile.
    pub fn parse(text: &str) -> Result<Profile> {
        let profile: Profile =
            serde_json::from_str(text).context("not a seccomp profile in Docker's format")?;
        // Checked now, in the parent, so a typo fails before anything is made.
        action(
            &profile.default_action,
            profile.default_errno_ret.or(Some(libc::EPERM)),
        )?;
        for rule in &profile.syscalls {
            action(
                &rule.action,
                rule.errno_ret
                    .or(profile.default_errno_ret)
                    .or(Some(libc::EPERM)),
            )?;
            for arg in &rule.args {
                compare_op(&arg.op, arg.value)?;
            }
        }
        Ok(profile)
    }

    /// Docker's default profile.
    pub fn docker_default() -> Profile {
        Profile::parse(DOCKER_DEFAULT).expect("the shipped default profile parses (tested)")
    }

    // ANCHOR: rules
    /// The rules that apply to a container with these capabilities, on this
    /// machine: Docker's default profile, for example, allows `mount`,
    /// `unshare` and `setns` only to a container that keeps `CAP_SYS_ADMIN`.
    pub fn rules_for(&self, caps: Caps) -> Vec<&Rule> {
        let arch = go_arch();
        let kernel = running_kernel();
        let has = |name: &String| cap_number(name).is_some_and(|cap| caps.has(cap));
        self.syscalls
            .iter()
            .filter(|rule| {
                let inc = &rule.includes;
                let exc = &rule.excludes;
                inc.caps.iter().all(has)
                    && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == arch))
                    && inc
                        .min_kernel
                        .as_deref()
                        .is_none_or(|min| kernel >= parse_version(min))
                    && !exc.caps.iter().any(has)
                    && !exc.arches.iter().any(|a| a == arch)
            })
            .collect()
    }
    // ANCHOR_END: rules

    // ANCHOR: compile
    /// The filter for a container with these capabilities, as the BPF
    /// program the kernel runs (`struct sock_filter[]`, 8 bytes each).
    pub fn compile(&self, caps: Caps) -> Result<Vec<u8>> {
        let memfd = memfd("mydocker-seccomp")?;
        self.filter(caps)?
            .export_bpf(&memfd)
            .context("seccomp_export_bpf")?;
        read_back(memfd).context("read the exported seccomp filter")
    }

    /// libseccomp's filter for these rules: the default action, the
    /// architectures, one rule per system call.
    fn filter(&self, caps: Caps) -> Result<ScmpFilterContext> {
        let errno = self.default_errno_ret.unwrap_or(libc::EPERM);
        let default = action(&self.default_action, Some(errno))?;
        let mut filter = ScmpFilterContext::new(default).context("seccomp_init")?;
        // no_new_privs is its own flag (--security-opt no-new-privileges);
        // libseccomp would otherwise set it with the filter.
        filter
            .set_ctl_nnp(false)
            .context("seccomp_attr_set(SCMP_FLTATR_CTL_NNP)")?;
        for arch in self.sub_architectures() {
            filter
                .add_arch(arch)
                .with_context(|| format!("seccomp_arch_add({arch:?})"))?;
        }
        for rule in self.rules_for(caps) {
            let action = action(&rule.action, rule.errno_ret.or(Some(errno)))?;
            if action == default {
                continue; // libseccomp refuses a rule that changes nothing
            }
            for name in rule.names.iter().chain(&rule.name) {
                // A name this libseccomp does not know is a call this kernel
                // and architecture cannot make: nothing to allow or deny.
                let Ok(call) = ScmpSyscall::from_name(name) else {
                    continue;
                };
                add_rule(&mut filter, action, call, &rule.args)
                    .with_context(|| format!("seccomp rule for {name}"))?;
            }
        }
        Ok(filter)
    }
    // ANCHOR_END: compile

    /// The filter in libseccomp's readable form (pseudo filter code), for
    /// the book.
    pub fn pseudo_code(&self, caps: Caps) -> Result<String> {
        let memfd = memfd("mydocker-seccomp-pfc")?;
        self.filter(caps)?
            .export_pfc(&memfd)
            .context("seccomp_export_pfc")?;
        let text = read_back(memfd).context("read the seccomp pseudo code")?;
        String::from_utf8(text).context("seccomp pseudo code is not UTF-8")
    }

    /// The architectures besides the native one this machine's processes
    /// may call in, from `archMap`.
    fn sub_architectures(&self) -> Vec<ScmpArch> {
        let native = ScmpArch::native();
        self.arch_map
            .iter()
            .filter(|map| {
                map.architecture
                    .parse::<ScmpArch>()
                    .is_ok_and(|arch| arch == native)
            })
            .flat_map(|map| map.sub_architectures.iter().flatten())
            .filter_map(|name| name.parse().ok())
            .collect()
    }
}

/// Adds one rule. Conditions on different arguments must all hold (one
/// rule); several conditions on the same argument are alternatives (one
/// rule each), as Docker reads them.
fn add_rule(
    filter: &mut ScmpFilterContext,
    action: ScmpAction,
    call: ScmpSyscall,
    args: &[Arg],
) -> Result<()> {
    let conditions: Vec<ScmpArgCompare> = args
        .iter()
        .map(|arg| {
            Ok(ScmpArgCompare::new(
                arg.index,
                compare_op(&arg.op, arg.value)?,
                compare_value(arg),
            ))
        })
        .collect::<Result<_>>()?;
    let mut indexes: Vec<u32> = args.iter().map(|arg| arg.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    if conditions.is_empty() {
        filter.add_rule(action, call)?;
    } else if indexes.len() == args.len() {
        filter.add_rule_conditional(action, call, &conditions)?;
    } else {
        for condition in conditions {
            filter.add_rule_conditional(action, call, &[condition])?;
        }
    }
    Ok(())
}

/// A profile's action name as libseccomp's action.
fn action(name: &str, errno: Option<i32>) -> Result<ScmpAction> {
    if name == "SCMP_ACT_NOTIFY" {
        bail!("seccomp action SCMP_ACT_NOTIFY needs a listener, which mydocker does not have");
    }
    ScmpAction::from_str(name, errno)
        .map_err(|_| anyhow::anyhow!("unknown seccomp action {name:?}"))
}

/// A profile's comparison name; `value` is the mask of `SCMP_CMP_MASKED_EQ`.
fn compare_op(name: &str, value: u64) -> Result<ScmpCompareOp> {
    Ok(match name {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(value),
        _ => bail!("unknown seccomp comparison {name:?}"),
    })
}

/// What the argument is compared with.
fn compare_value(arg: &Arg) -> u64 {
    if arg.op == "SCMP_CMP_MASKED_EQ" {
        arg.value_two
    } else {
        arg.value
    }
}

/// `CAP_SYS_ADMIN` as a capability number.
fn cap_number(name: &str) -> Option<u32> {
    capabilities::number(name.strip_prefix("CAP_").unwrap_or(name))
}

/// This machine's architecture in Go's spelling, as profiles write it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The running kernel's version, (major, minor).
fn running_kernel() -> (u32, u32) {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| parse_version(&release))
        .unwrap_or((0, 0))
}

/// `6.1.0-57-amd64` as (6, 1).
fn parse_version(text: &str) -> (u32, u32) {
    let mut parts = text
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// An anonymous in-memory file for libseccomp to write into.
fn memfd(name: &str) -> Result<OwnedFd> {
    let name = std::ffi::CString::new(name).context("memfd name")?;
    // SAFETY: a valid C string; the returned fd, if any, is ours alone.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Everything written into a memfd, from its start.
fn read_back(memfd: OwnedFd) -> std::io::Result<Vec<u8>> {
    let mut file = File::from(memfd);
    let mut bytes = Vec::new();
    file.rewind()?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

// ANCHOR: load
/// Hands the compiled filter to the kernel for the calling thread (the
/// container, just before `execve`). Without `no_new_privs` the kernel asks
/// for `CAP_SYS_ADMIN`, so this runs before the capabilities are dropped.
pub fn load(bpf: &[u8]) -> Result<()> {
    const INSTRUCTION: usize = std::mem::size_of::<libc::sock_filter>();
    if bpf.is_empty() || bpf.len() % INSTRUCTION != 0 {
        bail!("seccomp filter of {} bytes is not a BPF program", bpf.len());
    }
    // Copied into properly aligned instructions: the bytes are only a Vec<u8>.
    let mut program: Vec<libc::sock_filter> = bpf
        .chunks_exact(INSTRUCTION)
        .map(|b| libc::sock_filter {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .context("seccomp filter longer than 65535 instructions")?,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: fprog points at `program`, alive for the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const _,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("seccomp(SECCOMP_SET_MODE_FILTER)");
    }
    Ok(())
}
// ANCHOR_END: load

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_default_profile_parses_and_compiles() {
        let profile = Profile::docker_default();
        assert_eq!(profile.default_action, "SCMP_ACT_ERRNO");
        let bpf = profile.compile(Caps::docker_default()).expect("compile");
        assert_eq!(bpf.len() % 8, 0);
        assert!(bpf.len() > 8 * 100, "{} bytes", bpf.len());
    }

    #[test]
    fn mount_and_unshare_are_allowed_only_with_sys_admin() {
        let profile = Profile::docker_default();
        let allows = |caps: Caps, call: &str| {
            profile
                .rules_for(caps)
                .iter()
                .any(|rule| rule.action == "SCMP_ACT_ALLOW" && rule.names.iter().any(|n| n == call))
        };
        assert!(!allows(Caps::docker_default(), "unshare"));
        assert!(!allows(Caps::docker_default(), "mount"));
        assert!(allows(Caps::all(), "unshare"));
        assert!(allows(Caps::docker_default(), "mkdir"));
    }

    #[test]
    fn bad_profiles_name_what_is_wrong() {
        let err = Profile::parse(r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown seccomp action \"SCMP_ACT_MAYBE\""),
            "{err:#}"
        );
        let err = Profile::parse("[1, 2]").unwrap_err();
        assert!(
            format!("{err:#}").contains("not a seccomp profile"),
            "{err:#}"
        );
    }

    /// The book shows this: what libseccomp makes of a two-rule profile.
    #[test]
    fn a_profile_that_denies_mkdir_as_pseudo_code() {
        let profile = Profile::parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
        )
        .unwrap();
        if cfg!(target_arch = "x86_64") {
            insta::assert_snapshot!(profile.pseudo_code(Caps::docker_default()).unwrap());
        }
        // Two instructions per denied call, plus the architecture check.
        assert!(profile.compile(Caps::docker_default()).unwrap().len() < 8 * 20);
    }

    #[test]
    fn versions_read_like_the_kernel_writes_them() {
        assert_eq!(parse_version("6.1.0-57-amd64\n"), (6, 1));
        assert_eq!(parse_version("4.8"), (4, 8));
    }
}
