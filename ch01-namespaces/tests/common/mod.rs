//! What the confinement tests share: a shell script in a container.

use assert_cmd::cargo::cargo_bin_cmd;

/// Runs `ch01-namespaces run ARGS... sh -c SCRIPT`: (code, stdout, stderr).
pub fn sh(args: &[&str], script: &str) -> (i32, String, String) {
    let out = cargo_bin_cmd!("ch01-namespaces")
        .arg("run")
        .args(args)
        .args(["sh", "-c", script])
        .output()
        .expect("run ch01-namespaces");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
