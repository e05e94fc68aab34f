//! The device allow-list on cgroup v2: a small eBPF program.
//!
//! Version 2 has no `devices.allow` file. Instead, a program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE` is attached to the cgroup, and the kernel
//! runs it whenever a process of the cgroup opens or creates a device node.
//! Its one input is a context of three 32-bit words,
//!
//! ```text
//! struct bpf_cgroup_dev_ctx {
//!     u32 access_type;  // device type (1 block, 2 char) | access << 16 (1 mknod, 2 read, 4 write)
//!     u32 major;
//!     u32 minor;
//! };
//! ```
//!
//! and its answer, in register 0, is 1 (allow) or 0 (refuse: the system call
//! fails with `EPERM`). The program is a few instructions per rule, which
//! we write ourselves: what it does is exactly the allow-list, rule by rule
//! ([`program`]), and the listing a test snapshots is the one the book shows.
//! It is loaded with `bpf(BPF_PROG_LOAD)` and attached to the container's
//! cgroup directory with `bpf(BPF_PROG_ATTACH)`; it lives as long as the
//! cgroup does.

use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};

use super::{Access, Kind, Rule};

/// One eBPF instruction, as the kernel reads it (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    code: u8,
    /// Destination register in the low four bits, source in the high four.
    regs: u8,
    off: i16,
    imm: i32,
}

// The few opcodes the program needs (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU64_AND_K: u8 = 0x57; // dst &= imm
const ALU64_RSH_K: u8 = 0x77; // dst >>= imm
const ALU64_MOV_K: u8 = 0xb7; // dst = imm
const ALU64_MOV_X: u8 = 0xbf; // dst = src
const JMP_JNE_K: u8 = 0x55; // if dst != imm: skip off instructions
const JMP_JNE_X: u8 = 0x5d; // if dst != src: skip off instructions
const JMP_EXIT: u8 = 0x95; // return r0

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// ANCHOR: program
/// The program for an allow-list. Registers 2 to 5 get the device type,
/// the access asked for, the major and the minor; then each rule is a block
/// of tests, each of which jumps to the next rule when it fails, and a
/// `return 1` at its end. After the last rule: `return 0`.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),        // r2 = ctx->access_type
        insn(ALU64_AND_K, 2, 0, 0, 0xffff), // r2 &= 0xffff: the type
        insn(LDX_MEM_W, 3, 1, 0, 0),        // r3 = ctx->access_type
        insn(ALU64_RSH_K, 3, 0, 0, 16),     // r3 >>= 16: the access
        insn(LDX_MEM_W, 4, 1, 4, 0),        // r4 = ctx->major
        insn(LDX_MEM_W, 5, 1, 8, 0),        // r5 = ctx->minor
    ];
    for rule in rules {
        // Each test is one jump "to the next rule", whose offset is the
        // number of instructions left in this block after it: known only
        // once the block is complete, so the tests are collected first.
        let mut tests: Vec<Vec<Insn>> = Vec::new();
        match rule.kind {
            Kind::Block => tests.push(vec![insn(JMP_JNE_K, 2, 0, 0, 1)]),
            Kind::Char => tests.push(vec![insn(JMP_JNE_K, 2, 0, 0, 2)]),
            Kind::All => {}
        }
        if rule.access != Access::ALL {
            // Allowed only if every bit asked for is in the rule:
            // (asked & allowed) == asked.
            tests.push(vec![
                insn(ALU64_MOV_X, 1, 3, 0, 0),
                insn(ALU64_AND_K, 1, 0, 0, i32::from(rule.access.bits())),
                insn(JMP_JNE_X, 1, 3, 0, 0),
            ]);
        }
        if let Some(major) = rule.major {
            tests.push(vec![insn(JMP_JNE_K, 4, 0, 0, major as i32)]);
        }
        if let Some(minor) = rule.minor {
            tests.push(vec![insn(JMP_JNE_K, 5, 0, 0, minor as i32)]);
        }
        let allow = [insn(ALU64_MOV_K, 0, 0, 0, 1), insn(JMP_EXIT, 0, 0, 0, 0)];
        let mut left = allow.len() + tests.iter().map(Vec::len).sum::<usize>();
        for test in tests {
            left -= test.len();
            for mut i in test {
                if i.code == JMP_JNE_K || i.code == JMP_JNE_X {
                    i.off = left as i16;
                }
                prog.push(i);
            }
        }
        prog.extend(allow);
    }
    prog.extend([insn(ALU64_MOV_K, 0, 0, 0, 0), insn(JMP_EXIT, 0, 0, 0, 0)]);
    prog
}
// ANCHOR_END: program

/// A readable listing, one instruction per line, as the book shows it.
pub struct Listing<'a>(pub &'a [Insn]);

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, i) in self.0.iter().enumerate() {
            let (dst, src) = (i.regs & 0xf, i.regs >> 4);
            let target = n as i64 + 1 + i64::from(i.off);
            let text = match i.code {
                LDX_MEM_W => format!("r{dst} = *(u32 *)(r{src} + {})", i.off),
                ALU64_AND_K => format!("r{dst} &= {:#x}", i.imm),
                ALU64_RSH_K => format!("r{dst} >>= {}", i.imm),
                ALU64_MOV_K => format!("r{dst} = {}", i.imm),
                ALU64_MOV_X => format!("r{dst} = r{src}"),
                JMP_JNE_K => format!("if r{dst} != {} goto {target}", i.imm),
                JMP_JNE_X => format!("if r{dst} != r{src} goto {target}"),
                JMP_EXIT => "exit".to_string(),
                code => format!("(opcode {code:#04x})"),
            };
            writeln!(f, "{n:3}: {text}")?;
        }
        Ok(())
    }
}

// The bpf(2) commands, program type and attach type (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs may stay attached (a parent's, systemd's): the kernel
/// then asks every one of them, and all must allow.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The part of `union bpf_attr` that `BPF_PROG_LOAD` reads; the kernel
/// wants everything after it zero, hence the padding.
#[repr(C)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    _rest: [u8; 88],
}

/// The part of `union bpf_attr` that `BPF_PROG_ATTACH` reads.
#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    _rest: [u8; 112],
}

// ANCHOR: attach
/// Loads the program for `rules` and attaches it to the cgroup directory
/// `dir`. A refusal by the verifier comes back with its log.
pub fn attach(dir: &Path, rules: &[Rule]) -> Result<()> {
    let prog = program(rules);
    let license = c"MIT";
    let mut log = vec![0u8; 16 * 1024];
    let load = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        _rest: [0; 88],
    };
    // SAFETY: the attribute points at `prog`, `license` and `log`, all alive
    // for the call; the kernel copies the program.
    let fd = unsafe {
        bpf(
            BPF_PROG_LOAD,
            &load as *const LoadAttr as *const u8,
            size_of::<LoadAttr>(),
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        let log = String::from_utf8_lossy(&log);
        let log = log.trim_end_matches('\0').trim();
        return Err(err)
            .with_context(|| format!("bpf(BPF_PROG_LOAD) of the device program: {log}"));
    }
    // SAFETY: a new descriptor, owned by nobody else; closed when dropped
    // (the attachment keeps the program alive).
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let cgroup = std::fs::File::open(dir).with_context(|| format!("open {}", dir.display()))?;
    let attach = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        _rest: [0; 112],
    };
    // SAFETY: the attribute holds two open descriptors and plain numbers.
    let rc = unsafe {
        bpf(
            BPF_PROG_ATTACH,
            &attach as *const AttachAttr as *const u8,
            size_of::<AttachAttr>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "bpf(BPF_PROG_ATTACH) of the device program to {}",
                dir.display()
            )
        });
    }
    Ok(())
}
// ANCHOR_END: attach

/// The `bpf(2)` system call (libc has no wrapper for it).
unsafe fn bpf(cmd: libc::c_long, attr: *const u8, size: usize) -> libc::c_long {
    // SAFETY: the caller passes a valid attribute of `size` bytes.
    unsafe { libc::syscall(libc::SYS_bpf, cmd, attr, size) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::DEFAULT;

    #[test]
    fn one_block_per_rule_jumping_to_the_next() {
        let rules = [
            Rule::char(1, Some(3), Access::ALL),
            Rule {
                kind: Kind::Block,
                major: None,
                minor: None,
                access: Access::MKNOD,
            },
        ];
        insta::assert_snapshot!(Listing(&program(&rules)).to_string(), @r"
          0: r2 = *(u32 *)(r1 + 0)
          1: r2 &= 0xffff
          2: r3 = *(u32 *)(r1 + 0)
          3: r3 >>= 16
          4: r4 = *(u32 *)(r1 + 4)
          5: r5 = *(u32 *)(r1 + 8)
          6: if r2 != 2 goto 11
          7: if r4 != 1 goto 11
          8: if r5 != 3 goto 11
          9: r0 = 1
         10: exit
         11: if r2 != 1 goto 17
         12: r1 = r3
         13: r1 &= 0x1
         14: if r1 != r3 goto 17
         15: r0 = 1
         16: exit
         17: r0 = 0
         18: exit
        ");
    }

    #[test]
    fn dockers_list_as_a_program() {
        let prog = program(&DEFAULT);
        insta::assert_snapshot!(Listing(&prog).to_string());
        // Every jump lands inside the program.
        for (n, i) in prog.iter().enumerate() {
            if i.code == JMP_JNE_K || i.code == JMP_JNE_X {
                assert!(n + 1 + (i.off as usize) < prog.len(), "{n}");
            }
        }
    }
}
