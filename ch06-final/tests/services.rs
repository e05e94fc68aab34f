//! The seed's walkthroughs with real services, privileged, inside a network
//! lab: nginx, redis and the flask app from the Debian images of
//! `make images` (scripts/images.sh), reached through published ports the
//! way a client would, from the lab host's own address, from its "internet"
//! and from another container. Each test skips, saying why, when an image
//! tar was not built (`make test` builds them first, or reuses the cache).

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::{Env, stderr, stdout};
use testkit::lab::LAB_ADDR;

/// The seed's `br0`.
const NETWORK: &str = "br0";
const SUBNET: &str = "192.168.70.1/24";

/// A lab with `br0` and the real images `images` imported under their
/// names, or None when the test skips.
fn lab_with(test: &str, images: &[&str]) -> Option<Env> {
    if !testkit::require_root(test) {
        return None;
    }
    let tars = images
        .iter()
        .map(|name| testkit::require_image_tar(test, name).map(|tar| (*name, tar)))
        .collect::<Option<Vec<_>>>()?;
    let env = Env::in_lab();
    for (name, tar) in tars {
        env.ok(&["import", tar.to_str().expect("utf-8 path"), name]);
    }
    env.ok(&["network", "create", "--subnet", SUBNET, NETWORK]);
    Some(env)
}

/// A shell line that sends one HTTP request to `addr:port` and prints the
/// answer: busybox's nc (its wget crashes when linked statically).
fn http_get(addr: &str, port: &str) -> String {
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {addr} {port}")
}

/// The first answer of `fetch` that contains `needle`, trying for up to
/// 30 s (a service takes a moment to listen; until then the lab refuses).
fn answer(fetch: impl Fn() -> Output, needle: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = fetch();
        last = format!("{}{}", stdout(&out), stderr(&out));
        if last.contains(needle) {
            return Ok(last);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

/// `logs NAME` until it contains `needle` (up to 30 s).
fn wait_log(env: &Env, name: &str, needle: &str) -> String {
    answer(|| env.md(&["logs", name]), needle)
        .unwrap_or_else(|last| panic!("logs {name} never showed {needle:?}:\n{last}"))
}

/// What the nginx container serves once the walkthrough changed its page.
const PAGE: &str = "nginx-in-mydocker";

/// nginx from Debian's nginx-light: published with `-p 8888:80`, it answers
/// the lab host's own address (nat OUTPUT), the internet (PREROUTING and
/// forwarding) and a container on the same bridge (hairpin). Then the
/// seed's steps: `daemon off;` into nginx.conf, `commit`, and `run -d --name
/// bird -net br0 -p 8888:80 IMAGE nginx` serves the same page.
#[test]
fn nginx_serves_on_a_published_port_and_after_commit() {
    let Some(env) = lab_with(
        "nginx_serves_on_a_published_port_and_after_commit",
        &["nginx-image"],
    ) else {
        return;
    };
    let get = http_get(LAB_ADDR, "8888");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "a",
        "-net",
        NETWORK,
        "-p",
        "8888:80",
        "nginx-image",
        "nginx",
        "-g",
        "daemon off;",
    ]);
    // The seed edits the container by hand; the same edits through exec.
    env.ok(&[
        "exec",
        "a",
        "sh",
        "-c",
        &format!(
            "echo {PAGE} > /var/www/html/index.html && echo 'daemon off;' >> /etc/nginx/nginx.conf"
        ),
    ]);
    let from = |what: &str, fetch: &dyn Fn() -> Output| {
        if let Err(last) = answer(fetch, PAGE) {
            panic!("nginx did not answer {what} on {LAB_ADDR}:8888:\n{last}");
        }
    };
    from("the lab host", &|| env.lab().sh(&get));
    from("the internet", &|| env.lab().inet_sh(&get));
    from("a container on the bridge (hairpin)", &|| {
        env.md(&["run", "--rm", "-net", NETWORK, "busybox", "sh", "-c", &get])
    });

    env.ok(&["stop", "a"]);
    env.ok(&["commit", "a", "mynginx"]);
    env.ok(&["rm", "a"]);
    // `nginx` alone now stays in the foreground: the committed nginx.conf
    // says `daemon off;`.
    env.ok(&[
        "run", "-d", "--name", "bird", "-net", NETWORK, "-p", "8888:80", "mynginx", "nginx",
    ]);
    from("the internet, from the committed image", &|| {
        env.lab().inet_sh(&get)
    });
    let top = env.ok(&["exec", "bird", "cat", "/proc/1/cmdline"]);
    assert!(top.starts_with("nginx"), "pid 1 of bird: {top:?}");
}

/// The flask app of `examples/flask/app.py`, as the book shows it.
const APP_DIR: &str = "examples/flask";

/// redis and the flask app: `logs myredis` shows redis's own start-up; the
/// app, committed into `myflask` and published with `-p 5000:5000`, finds
/// redis by its container name and counts 1 to 5 over five requests from
/// the internet.
#[test]
fn flask_counts_visits_in_redis_found_by_name() {
    let Some(env) = lab_with(
        "flask_counts_visits_in_redis_found_by_name",
        &["redis-image", "flask-image"],
    ) else {
        return;
    };
    // Without a configuration file redis refuses clients from other
    // addresses (protected mode): the book explains the flag.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "myredis",
        "-net",
        NETWORK,
        "redis-image",
        "redis-server",
        "--protected-mode",
        "no",
    ]);
    let logs = wait_log(&env, "myredis", "Ready to accept connections");
    assert!(logs.contains("Redis is starting"), "{logs}");

    let app = testkit::workspace_dir().join(APP_DIR);
    let volume = format!("{}:/src:ro", app.display());
    env.ok(&[
        "run",
        "--name",
        "build",
        "-v",
        &volume,
        "flask-image",
        "cp",
        "/src/app.py",
        "/root/app.py",
    ]);
    env.ok(&["commit", "build", "myflask"]);
    env.ok(&["rm", "build"]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "myflask",
        "-net",
        NETWORK,
        "-p",
        "5000:5000",
        "myflask",
        "python3",
        "/root/app.py",
    ]);

    let get = http_get(LAB_ADDR, "5000");
    let first = answer(|| env.lab().inet_sh(&get), "visit ")
        .unwrap_or_else(|last| panic!("myflask never answered on {LAB_ADDR}:5000:\n{last}"));
    let mut counts = vec![visit_count(&first)];
    for _ in 2..=5 {
        let out = env.lab().inet_sh(&get);
        counts.push(visit_count(&stdout(&out)));
    }
    assert_eq!(counts, [1, 2, 3, 4, 5]);
}

/// The number in "Hello from myflask: visit N".
fn visit_count(answer: &str) -> u32 {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("Hello from myflask: visit "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("not the app's answer: {answer}"))
}
