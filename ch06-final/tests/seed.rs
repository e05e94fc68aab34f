//! Every `mydocker` command line of the seed README, verbatim, inside a
//! network lab, with busybox standing in for alpine. Where the README
//! installs software (nginx, redis, flask) the stand-in is a small script
//! of the same name, so the command lines stay exactly the README's.
//! Also: the Makefile's `net`, `d1` and `d2`, and crash safety with a
//! network.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Env, alive, stderr, stdout};

/// Runs `mydocker ARGS` with `input` on its standard input (as a user
/// would type into `-ti sh`), kills it after `timeout`.
fn typed(env: &Env, args: &[&str], input: &str, timeout: Duration) -> Output {
    let mut child = env
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mydocker");
    // Type only once the shell shows its first prompt, as a person would:
    // input that arrives earlier can be taken by the shell's line editor as
    // the answer to its terminal query (ESC [6n) and be lost.
    let mut stdout = child.stdout.take().expect("stdout");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let t0 = Instant::now();
    let interactive_shell =
        args.iter().any(|a| *a == "-ti" || *a == "-it") && args.last() == Some(&"sh");
    let prompted = || String::from_utf8_lossy(&seen.lock().unwrap()).contains("# ");
    while interactive_shell && !prompted() && t0.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write the input");
    drop(stdin);
    while child.try_wait().expect("try_wait").is_none() {
        if t0.elapsed() > timeout {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = child.wait_with_output().expect("the output");
    reader.join().expect("the reader");
    out.stdout = std::mem::take(&mut *seen.lock().unwrap());
    out
}

/// Splits a README line into words (no quotes in the ones we run).
fn words(line: &str) -> Vec<&str> {
    let line = line.strip_prefix("mydocker ").expect("a mydocker line");
    line.split_whitespace().collect()
}

/// The nginx walkthrough: network, an interactive container that becomes
/// an image by commit, that image detached with a published port, exec.
#[test]
fn seed_readme_nginx_walkthrough() {
    if !testkit::require_root("seed_readme_nginx_walkthrough") {
        return;
    }
    let env = Env::in_lab();
    env.ok(&["tag", "busybox", "alpine"]);

    let out = env.ok(&words(
        "mydocker network create --driver bridge --subnet 192.168.10.1/24 br0",
    ));
    assert_eq!(out.trim(), "br0");

    // Inside `a`: the README installs nginx; our nginx is busybox httpd.
    // `a` keeps running while it is committed, as in the README, so the
    // next container gets the next address.
    let setup = "printf '#!/bin/sh\\nexec httpd -f -p 80 -h /var/www\\n' > /usr/sbin/nginx\n\
                 chmod +x /usr/sbin/nginx\n\
                 echo hello from nginx > /var/www/index.html\n\
                 echo alpinelinux > /etc/hostname\n\
                 hostname -F /etc/hostname\n\
                 hostname\n\
                 ip -4 addr show eth0\n\
                 touch /ready\n";
    let mut a = env
        .cmd(&words("mydocker run -ti --name a --net br0 alpine sh"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut a_input = a.stdin.take().unwrap();
    a_input.write_all(setup.as_bytes()).unwrap();
    let mut a = scopeguard(a);
    let ready = || {
        let out = env.md(&["inspect", "a"]);
        let all: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let id = all[0]["Id"].as_str()?.to_string();
        env.container_dir(&id)
            .join("upper/ready")
            .exists()
            .then_some(())
    };
    assert!(
        testkit::eventually(500, ready).is_some(),
        "container a never got ready"
    );

    let out = env.ok(&words("mydocker commit a nginx-alpine"));
    assert!(out.trim().starts_with("sha256:"), "{out}");

    // The README types it as `d run ...`, with `d` its alias for mydocker.
    let id = env.ok(&words(
        "mydocker run -d --name bird -net br0 -p 8888:80 nginx-alpine nginx",
    ));
    assert_eq!(id.trim().len(), 64);
    // `curl 192.168.34.2:8888` from the host (busybox's nc: its wget
    // crashes when linked statically against glibc).
    let page = || {
        let out = env
            .lab()
            .sh("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 198.51.100.2 8888");
        let text = stdout(&out);
        text.contains("hello from nginx").then_some(())
    };
    assert!(
        testkit::eventually(250, page).is_some(),
        "the published port does not answer"
    );
    // `ps -ef | grep nginx` on the host: the container's nginx is a host process.
    let pid = env.pid("bird");
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.starts_with("httpd"), "{cmdline:?}");

    let out = typed(
        &env,
        &words("mydocker exec bird sh"),
        "ip -4 addr show eth0\nwget -qO- http://192.168.10.3/\nexit\n",
        Duration::from_secs(30),
    );
    let text = stdout(&out);
    assert!(text.contains("inet 192.168.10.3/24"), "{text}");
    assert!(text.contains("hello from nginx"), "{text}");

    // Back in `a`: leave the shell.
    a_input.write_all(b"exit\n").unwrap();
    drop(a_input);
    let a = std::mem::replace(
        &mut a.0,
        std::process::Command::new("true").spawn().unwrap(),
    );
    let out = a.wait_with_output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("alpinelinux"), "{text}");
    assert!(text.contains("inet 192.168.10.2/24"), "{text}");

    // "启动自己定义的容器": the same image in the foreground; bird keeps
    // 8888, so stop it first.
    env.ok(&["stop", "-t", "1", "bird"]);
    let runner = {
        let mut cmd = env.cmd(&words(
            "mydocker run -ti --name bird2 -net br0 -p 8888:80 nginx-alpine nginx",
        ));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().unwrap()
    };
    let mut runner = scopeguard(runner);
    assert!(testkit::eventually(250, page).is_some());
    env.ok(&["stop", "-t", "1", "bird2"]);
    let status = runner.0.wait().unwrap();
    assert_eq!(status.code(), Some(137), "nginx ignores SIGTERM as PID 1");
}

/// The redis and flask walkthrough of the README.
#[test]
fn seed_readme_redis_and_flask_walkthrough() {
    if !testkit::require_root("seed_readme_redis_and_flask_walkthrough") {
        return;
    }
    let env = Env::in_lab();
    // The images the README made elsewhere, as stand-ins.
    env.ok(&["tag", "busybox", "myalpine"]);
    env.ok(&[
        "run", "--name", "mkredis", "busybox", "sh", "-c",
        "printf '#!/bin/sh\\necho Redis is starting\\necho Ready to accept connections\\nexec sleep 1000\\n' > /usr/bin/redis-server; chmod +x /usr/bin/redis-server",
    ]);
    env.ok(&["commit", "mkredis", "myredis"]);

    env.ok(&words(
        "mydocker network create --driver bridge --subnet 192.168.20.1/24 br0",
    ));
    env.ok(&words(
        "mydocker run -d --name myredis -net br0 myredis /usr/bin/redis-server",
    ));
    let logs = || {
        let out = stdout(&env.md(&words("mydocker logs myredis")));
        out.contains("Ready to accept connections").then_some(out)
    };
    let out = testkit::eventually(250, logs).expect("redis's banner in the logs");
    assert!(out.starts_with("Redis is starting"), "{out}");
    let out = typed(
        &env,
        &words("mydocker exec myredis sh"),
        "ifconfig\nexit\n",
        Duration::from_secs(30),
    );
    assert!(
        stdout(&out).contains("inet addr:192.168.20.2"),
        "{}",
        stdout(&out)
    );

    // Making myflask: the README's `d run -ti -net br0 --name myflask myalpine sh`.
    let setup = "printf '#!/bin/sh\\nexec sh \"$@\"\\n' > /usr/bin/python\n\
                 chmod +x /usr/bin/python\n\
                 echo 'echo Running on http://0.0.0.0:5000' > /root/app.py\n\
                 exit\n";
    let out = typed(
        &env,
        &words("mydocker run -ti -net br0 --name myflask myalpine sh"),
        setup,
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    env.ok(&words("mydocker commit myflask myflask"));
    // The README reuses the name: the first myflask has to go first.
    env.ok(&["rm", "myflask"]);
    let out = typed(
        &env,
        &words("mydocker run -ti -net br0 --name myflask -p 5000:5000 myflask python /root/app.py"),
        "",
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Running on http://0.0.0.0:5000"),
        "{}",
        stdout(&out)
    );
}

/// The seed Makefile's `make net`, `make d1`, `make d2`: two interactive
/// containers on testbridge reach each other, the lab's internet, and a
/// port published on the bridge's address.
#[test]
fn makefile_net_d1_d2() {
    if !testkit::require_root("makefile_net_d1_d2") {
        return;
    }
    let env = Env::in_lab();
    env.ok(&[
        "network",
        "create",
        "--driver",
        "bridge",
        "--subnet",
        "192.168.10.1/24",
        "testbridge",
    ]);
    let ping_loop = |ip: &str| {
        format!(
            "for i in $(seq 100); do ping -c1 -W1 {ip} >/dev/null 2>&1 && echo REACHED {ip} && break; sleep 0.2; done\n"
        )
    };
    // d1 serves one line on port 81, then waits for d2.
    let d1_input = format!(
        "(echo from-d1 | nc -l -p 81) &\n{}ping -c1 -W2 198.51.100.1 >/dev/null && echo REACHED internet\n\
         for i in $(seq 50); do kill -0 $! 2>/dev/null || break; sleep 0.2; done\nexit\n",
        ping_loop("192.168.10.3")
    );
    // d2 stays a few seconds after it reached d1, so d1's own pings (one
    // every second or so) find it there.
    let d2_input = format!("{}sleep 5\nexit\n", ping_loop("192.168.10.2"));
    std::thread::scope(|s| {
        let d1 = s.spawn(|| {
            typed(
                &env,
                &[
                    "run",
                    "-ti",
                    "-net",
                    "testbridge",
                    "-p",
                    "81:81",
                    "busybox",
                    "sh",
                ],
                &d1_input,
                Duration::from_secs(60),
            )
        });
        // d1 must get .2: start d2 once d1 has its address.
        let has_d1 = || {
            let ping = env.lab().sh("busybox ping -c1 -W1 192.168.10.2");
            ping.status.success().then_some(())
        };
        assert!(
            testkit::eventually(500, has_d1).is_some(),
            "d1 never came up"
        );
        let d2 = s.spawn(|| {
            typed(
                &env,
                &[
                    "run",
                    "-ti",
                    "-net",
                    "testbridge",
                    "-p",
                    "82:82",
                    "busybox",
                    "sh",
                ],
                &d2_input,
                Duration::from_secs(60),
            )
        });
        // `telnet 192.168.10.1 81` from the host.
        let fetch = || {
            let out = env.lab().sh("echo | busybox nc -w 2 192.168.10.1 81");
            let text = stdout(&out);
            text.contains("from-d1").then_some(text)
        };
        assert!(
            testkit::eventually(250, fetch).is_some(),
            "port 81 not published"
        );
        let d2 = stdout(&d2.join().unwrap());
        assert!(d2.contains("REACHED 192.168.10.2"), "{d2}");
        let d1 = stdout(&d1.join().unwrap());
        assert!(d1.contains("REACHED 192.168.10.3"), "{d1}");
        assert!(d1.contains("REACHED internet"), "{d1}");
    });
}

/// Crash safety with a network: after `kill -9` of the supervisor, `rm -f`
/// leaves no veth, no rule, no address, no cgroup, no directory.
#[test]
fn crash_with_a_network_is_cleaned_by_rm_f() {
    if !testkit::require_root("crash_with_a_network_is_cleaned_by_rm_f") {
        return;
    }
    let env = Env::in_lab();
    env.ok(&["network", "create", "--subnet", "192.168.30.1/24", "n"]);
    let rules_before = env.lab().rules();
    let links_before = env.lab().links();
    let id = env.ok(&[
        "run", "-d", "--name", "c", "--net", "n", "-p", "81:81", "busybox", "sleep", "60",
    ]);
    let id = id.trim();
    let pid = env.pid("c");
    let supervisor = env.supervisor("c");
    assert_ne!(env.lab().links(), links_before);
    assert!(env.lab().rules().contains(&id[..12]));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(testkit::eventually(500, || (!alive(pid)).then_some(())).is_some());
    assert!(env.ok(&["ps", "-a"]).contains("Exited (137)"));
    env.ok(&["rm", "-f", "c"]);
    assert_eq!(env.lab().links(), links_before);
    assert_eq!(env.lab().rules(), rules_before);
    let ipam = std::fs::read_to_string(env.root().join("networks/ipam/n.json")).unwrap();
    assert!(!ipam.contains(id), "{ipam}");
    assert!(common::cgroup_dirs(id).is_empty());
    assert!(!env.container_dir(id).exists());
    // The address is free again: the next container gets it.
    env.ok(&[
        "run", "-d", "--name", "next", "--net", "n", "busybox", "sleep", "60",
    ]);
    assert_eq!(
        env.inspect("next")["NetworkSettings"]["IPAddress"],
        "192.168.30.2"
    );
}

/// Kills a child process when dropped (a test that fails half-way).
struct Guard(std::process::Child);

fn scopeguard(child: std::process::Child) -> Guard {
    Guard(child)
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
