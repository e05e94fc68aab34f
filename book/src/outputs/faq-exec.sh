#!/bin/sh
# FAQ (processes): why nothing runs after exec.
# ANCHOR: shell
mydocker run --rm busybox sh -c 'echo "before exec: pid $$"; exec sh -c "echo after exec: pid \$\$"; echo never printed'
# ANCHOR_END: shell
# ANCHOR: rust-source
mkdir -p rust && cat > rust/exec_demo.rs <<'EOF_RUST'
use std::os::unix::process::CommandExt;
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("before exec: pid {}", std::process::id());
    print!("this text has no newline yet, so it waits in a buffer");
    // exec() returns only when it failed: its type is io::Error, not Result.
    let err = Command::new(&args[0]).args(&args[1..]).exec();
    println!();
    println!("exec {} failed: {err}", args[0]);
}
EOF_RUST
rustc -O -C target-feature=+crt-static -o rust/exec-demo rust/exec_demo.rs
# ANCHOR_END: rust-source
# ANCHOR: rust-run
mydocker run --rm -v $PWD/rust:/demo busybox /demo/exec-demo sh -c 'echo "after exec: pid $$"'
mydocker run --rm -v $PWD/rust:/demo busybox /demo/exec-demo /no/such/program
# ANCHOR_END: rust-run
# ANCHOR: failed
mydocker run --rm busybox sh -c 'exec /no/such/program; echo "still here"'; echo "exit code $?"
mydocker run --rm busybox no-such-program; echo "exit code $?"
# ANCHOR_END: failed
# ANCHOR: same-process
mydocker run -d --name e busybox sh -c 'exec sleep 3600'
# (not shown: wait until the shell has become sleep)
@ until tr '\0' ' ' < /proc/$(mydocker inspect e | sed -n 's/^ *"Pid": \([0-9]*\),$/\1/p')/cmdline | grep -q '^sleep'; do sleep 0.1; done
mydocker exec e ps -o pid,args
# ANCHOR_END: same-process
