//! The real Debian images of `make images` (scripts/images.sh), privileged:
//! each one imports and runs its service's program under the default
//! confinement (Docker's capabilities and seccomp profile). Version
//! commands only: serving over a network is the lab tests' business.
//! Each test skips, saying why, when its tar was not built.
//!
//! `make test` builds the tars first (`make image-tars`: a Debian mirror
//! and a minute per image the first time, nothing once they are cached).

mod common;

use common::{Env, stderr, stdout};

/// Imports the real image `name` into a fresh data root and runs `cmd` in
/// it with `run --rm`; returns stdout and stderr together (nginx writes
/// its version on stderr), or None when the test skips.
fn run_in_image(test: &str, name: &str, cmd: &[&str]) -> Option<String> {
    if !testkit::require_root(test) {
        return None;
    }
    let tar = testkit::require_image_tar(test, name)?;
    let env = Env::new();
    env.ok(&["import", tar.to_str().expect("utf-8 path"), name]);
    let mut args = vec!["run", "--rm", name];
    args.extend_from_slice(cmd);
    let out = env.md(&args);
    assert!(
        out.status.success(),
        "{cmd:?} in {name} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    Some(format!("{}{}", stdout(&out), stderr(&out)))
}

/// Debian's nginx starts and says its version.
#[test]
fn nginx_image_runs_nginx() {
    if let Some(out) = run_in_image("nginx_image_runs_nginx", "nginx-image", &["nginx", "-v"]) {
        assert!(out.contains("nginx version: nginx/"), "{out}");
    }
}

/// Debian's redis-server starts and says its version.
#[test]
fn redis_image_runs_redis_server() {
    let test = "redis_image_runs_redis_server";
    if let Some(out) = run_in_image(test, "redis-image", &["redis-server", "--version"]) {
        assert!(out.contains("Redis server v="), "{out}");
    }
}

/// Debian's python3 imports flask and the redis client the flask app uses.
#[test]
fn flask_image_imports_flask_and_redis() {
    let test = "flask_image_imports_flask_and_redis";
    let script = "import flask, redis; print('flask', flask.__name__, 'redis', redis.__version__)";
    if let Some(out) = run_in_image(test, "flask-image", &["python3", "-c", script]) {
        assert!(out.contains("flask flask redis "), "{out}");
    }
}
