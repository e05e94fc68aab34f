#!/usr/bin/env python3
"""Turns the results of `make bench` into book/src/performance.md.

    bench/report.py RESULTS_DIR PAGE        write the page
    bench/report.py --summary RESULTS NAME  print the medians of one hyperfine set

Every timing comes from hyperfine's JSON exports (`NAME.rK.json`, one per
round, merged here); the other parts write small JSON files of their own.
Medians, never means: one slow run (the machine's other work) moves a mean
but hardly a median. Every ratio compares two medians measured in the same
run, interleaved round by round.
"""

import glob
import json
import os
import re
import statistics
import sys


# ---------------------------------------------------------------- the data

def load_times(results, name):
    """{command name: [seconds, ...]} over every round of hyperfine set NAME,
    in the order of the first round."""
    times = {}
    for path in sorted(glob.glob(os.path.join(results, f"{name}.r*.json"))):
        with open(path) as f:
            for r in json.load(f)["results"]:
                times.setdefault(r["command"], []).extend(r["times"])
    return times


def load_cpu(results, name):
    """{command name: mean CPU seconds (user + system) per run} of set NAME."""
    cpu, runs = {}, {}
    for path in sorted(glob.glob(os.path.join(results, f"{name}.r*.json"))):
        with open(path) as f:
            for r in json.load(f)["results"]:
                n = len(r["times"])
                cpu[r["command"]] = cpu.get(r["command"], 0.0) + (r["user"] + r["system"]) * n
                runs[r["command"]] = runs.get(r["command"], 0) + n
    return {c: cpu[c] / runs[c] for c in cpu}


def load_json(results, name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def median(xs):
    return statistics.median(xs) if xs else None


def quartiles(xs):
    if len(xs) < 4:
        return (min(xs), max(xs))
    q = statistics.quantiles(xs, n=4)
    return (q[0], q[2])


def ms(seconds, digits=1):
    return f"{seconds * 1000:.{digits}f}"


def summary(results, name):
    times = load_times(results, name)
    for cmd, ts in times.items():
        lo, hi = quartiles(ts)
        print(f"   {cmd:<28} median {ms(median(ts), 2):>8} ms"
              f"  (middle half {ms(lo, 2)}..{ms(hi, 2)} ms, {len(ts)} runs)")


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--summary":
    summary(sys.argv[2], sys.argv[3])
    sys.exit(0)


# ---------------------------------------------------------------- the machine

def sh(cmd):
    import subprocess
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip()
    except Exception:
        return ""


def machine(out):
    """What the page says about the machine, written before and after the run."""
    info = {}
    info["date"] = sh("date -u +'%Y-%m-%d %H:%M UTC'")
    info["kernel"] = sh("uname -r")
    osr = dict(l.split("=", 1) for l in open("/etc/os-release").read().split("\n") if "=" in l)
    info["os"] = osr.get("PRETTY_NAME", "").strip('"')
    cpus = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
    info["cpu"] = cpus[0] if cpus else sh("uname -m")
    info["cores"] = os.cpu_count()
    mem = [l for l in open("/proc/meminfo") if l.startswith("MemTotal")][0].split()[1]
    info["memory_gib"] = round(int(mem) / 1024 / 1024, 1)
    info["loadavg"] = open("/proc/loadavg").read().split()[:3]
    for kind in ("cpu", "io"):
        try:
            some = open(f"/proc/pressure/{kind}").readline().split()
            info[f"pressure_{kind}"] = dict(kv.split("=") for kv in some[1:4])
        except OSError:
            pass
    mounts = open("/proc/self/mountinfo").read()
    v1 = sorted({l.split(" - ")[1].split()[2].split(",")[-1] for l in mounts.splitlines()
                 if " - cgroup " in l})
    v2 = " - cgroup2 " in mounts
    info["cgroups"] = ("hybrid: v1 controllers, an empty v2 mount" if v1 and v2
                       else "v1" if v1 else "v2" if v2 else "none")
    work = os.environ.get("WORK", ".")
    info["work_fs"] = sh(f"findmnt -n -o FSTYPE --target {work}") or sh(f"stat -f -c %T {work}")
    info["versions"] = {
        "runc": sh("runc --version | head -1"),
        "hyperfine": sh("hyperfine --version"),
        "iptables": sh("iptables --version"),
        "rustc": sh("rustc --version"),
        "busybox": sh("busybox | head -1 | cut -d' ' -f1-2"),
        "util-linux": sh("unshare --version"),
    }
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    info["commit"] = sh(f"git -C {repo} rev-parse --short HEAD")
    info["dirty"] = bool(sh(f"git -C {repo} status --porcelain --untracked-files=no -- "
                            "ch01-namespaces ch02-cgroups ch03-overlayfs ch04-images "
                            "ch05-network ch06-final Cargo.toml Cargo.lock"))
    binary = os.environ.get("MYDOCKER", "")
    info["binary"] = binary
    info["binary_mib"] = round(os.path.getsize(binary) / 2**20, 1) if os.path.exists(binary) else None
    with open(out, "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--machine":
    machine(sys.argv[2])
    sys.exit(0)


# ---------------------------------------------------------------- the page

def sections(path):
    """The hand-written parts of the page: `@@ name` lines start a section."""
    out, name = {}, None
    for line in open(path).read().splitlines():
        if line.startswith("@@ "):
            name = line[3:].strip()
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def timing_table(times, ref, cpu=None, delta=False):
    """One row per command: median, middle half, runs, CPU time, and the
    ratio of `ref`'s median to this command's median (with `delta`: what
    this command's median adds to `ref`'s)."""
    cpu = cpu or {}
    last = f"added to {ref} (ms)" if delta else f"{ref} ÷ this"
    rows = ["| command | median (ms) | middle half (ms) | runs | CPU, user + system (ms, mean) | "
            + last + " |",
            "|---|---:|---:|---:|---:|---:|"]
    base = median(times[ref])
    for cmd, ts in times.items():
        lo, hi = quartiles(ts)
        if cmd == ref:
            ratio = ""
        elif delta:
            ratio = f"{(median(ts) - base) * 1000:+.1f}"
        else:
            ratio = f"{base / median(ts):.2f}×"
        used = ms(cpu[cmd]) if cmd in cpu else ""
        rows.append(f"| {cmd} | {ms(median(ts), 2)} | {ms(lo, 1)} – {ms(hi, 1)} | {len(ts)} | {used} | {ratio} |")
    return "\n".join(rows)


def import_rows(text):
    """(mydocker seconds, tar seconds) of import and commit, from the table
    bench/import-commit.sh prints."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[1] in ("`import`", "`commit`"):
            try:
                found[(cells[1].strip("`"), cells[2])] = (float(cells[3]), float(cells[4]))
            except ValueError:
                pass
    return found


class Target:
    def __init__(self, key, text, measured=None, ok=None):
        self.key, self.text, self.measured, self.ok = key, text, measured, ok

    def verdict(self):
        return {True: "met", False: "**missed**", None: "not measured"}[self.ok]


def page(results, out):
    here = os.path.dirname(os.path.abspath(__file__))
    text = sections(os.path.join(here, "page.md"))
    before = load_json(results, "machine-before.json") or {}
    after = load_json(results, "machine-after.json") or {}
    targets = []
    body = []

    # 1. start
    start = load_times(results, "start")
    if {"mydocker", "runc", "unshare"} <= start.keys():
        m, r, u = (median(start[k]) for k in ("mydocker", "runc", "unshare"))
        targets.append(Target("start-runc", "`run --rm true` at most 0.5× runc's time",
                              f"{m / r:.2f}× ({ms(m)} ms vs {ms(r)} ms)", m / r <= 0.5))
        targets.append(Target("start-floor", "`run --rm true` at most 3× the bare `unshare` floor",
                              f"{m / u:.2f}× ({ms(m)} ms vs {ms(u)} ms)", m / u <= 3))
        body += ["## 1. Start to exit of `true`", "", text.get("start", ""), "",
                 timing_table(start, "mydocker", load_cpu(results, "start")), ""]
    else:
        targets += [Target("start-runc", "`run --rm true` at most 0.5× runc's time"),
                    Target("start-floor", "`run --rm true` at most 3× the bare `unshare` floor")]

    # 2. network
    net = load_times(results, "network")
    if {"none", "net", "net+port"} <= net.keys():
        n0, n1, n2 = (median(net[k]) for k in ("none", "net", "net+port"))
        targets.append(Target("network", "a network plus one published port adds at most 15 ms",
                              f"+{ms(n2 - n0)} ms ({ms(n2)} ms vs {ms(n0)} ms; the network alone +{ms(n1 - n0)} ms)",
                              n2 - n0 <= 0.015))
        body += ["## 2. The cost of a network and a published port", "", text.get("network", ""), "",
                 timing_table(net, "none", load_cpu(results, "network"), delta=True), "",
                 f"A network adds **{ms(n1 - n0)} ms** to a run; a network and one published port "
                 f"add **{ms(n2 - n0)} ms**"
                 + (f"; with the legacy iptables backend, **{ms(median(net['net+port, iptables-legacy']) - n0)} ms** "
                    "(including an `env` in front, a fraction of a millisecond)"
                    if "net+port, iptables-legacy" in net else "") + ".", ""]
    else:
        targets.append(Target("network", "a network plus one published port adds at most 15 ms"))

    # 3. exec
    ex = load_times(results, "exec")
    if {"mydocker", "nsenter"} <= ex.keys():
        m, n = median(ex["mydocker"]), median(ex["nsenter"])
        targets.append(Target("exec", "`exec` at most 1.5× `nsenter`",
                              f"{m / n:.2f}× ({ms(m)} ms vs {ms(n)} ms)", m / n <= 1.5))
        cpu = load_cpu(results, "exec")
        execs = {k: v for k, v in ex.items() if not k.endswith("--version")}
        starts = {k: v for k, v in ex.items() if k.endswith("--version")}
        body += ["## 3. `exec` into a running container", "", text.get("exec", ""), "",
                 timing_table(execs, "mydocker", cpu), ""]
        if "mydocker --version" in starts:
            body += [timing_table(starts, "mydocker --version", cpu), ""]
    else:
        targets.append(Target("exec", "`exec` at most 1.5× `nsenter`"))

    # 4. import and commit
    ic_path = os.path.join(results, "import-commit.md")
    ic = open(ic_path).read().strip() if os.path.exists(ic_path) else ""
    rows = import_rows(ic)
    imp = next((v for k, v in rows.items() if k[0] == "import"), None)
    if imp:
        speed = imp[1] / imp[0]
        targets.append(Target("import", "`import` at least 0.9× the speed of `tar -x`",
                              f"{speed:.2f}× the speed ({imp[0]:.2f} s vs {imp[1]:.2f} s)", speed >= 0.9))
    else:
        targets.append(Target("import", "`import` at least 0.9× the speed of `tar -x`"))
    if ic:
        body += ["## 4. `import` and `commit` of a large rootfs", "", text.get("import", ""), "",
                 ic.replace("### ", "#### ", 1), ""]

    # 5. memory
    mem = load_json(results, "memory.json")
    if mem and mem.get("supervisors"):
        sups = mem["supervisors"]
        rss = statistics.mean(s["VmRSS"] for s in sups)
        targets.append(Target("memory", "a detached container's supervisor under 2 MiB resident",
                              f"{rss / 1024:.2f} MiB ({rss:.0f} KiB, of which {statistics.mean(s['RssAnon'] for s in sups):.0f} KiB private)",
                              rss < 2048))
        fg, rc = mem["mydocker_foreground"], mem["runc_foreground"]
        box = mem["containers"][0] if mem.get("containers") else None
        rows = ["| process | resident (KiB) | private (KiB) | file pages (KiB) | peak (KiB) |",
                "|---|---:|---:|---:|---:|"]
        for s in sups:
            rows.append(f"| supervisor of a detached container | {s['VmRSS']} | {s['RssAnon']} | {s['RssFile']} | |")
        if box:
            rows.append(f"| its container's process (busybox `sleep`) | {box['VmRSS']} | {box['RssAnon']} | {box['RssFile']} | |")
        rows.append(f"| `mydocker run` in the foreground, its container running | {fg['VmRSS']} | {fg['RssAnon']} | {fg['RssFile']} | {fg['VmHWM']} |")
        rows.append(f"| `runc run` in the foreground, its container running | {rc['VmRSS']} | {rc['RssAnon']} | {rc['RssFile']} | {rc['VmHWM']} |")
        body += ["## 5. Memory", "", text.get("memory", ""), "", "\n".join(rows), "",
                 f"The release binary is {mem['binary_bytes'] / 2**20:.1f} MiB on disk. "
                 f"`mydocker run` in the foreground holds {fg['VmRSS'] / rc['VmRSS']:.2f}× "
                 f"the resident memory of `runc run` in the same role.", ""]
    else:
        targets.append(Target("memory", "a detached container's supervisor under 2 MiB resident"))

    # 6. scale
    sc = load_json(results, "scale.json")
    if sc:
        n = sc["n"]
        ok = sc["running"] == n and sc["answered"] == n and not sc["left_behind"]
        left = "nothing left behind" if not sc["left_behind"] else "left behind: " + "; ".join(sc["left_behind"])
        targets.append(Target("scale", f"{n} containers start, answer and are removed with nothing left behind",
                              f"{sc['running']}/{n} running, {sc['answered']}/{n} answered ping, {left}", ok))
        body += [f"## 6. Scale: {n} containers on one bridge", "", text.get("scale", ""), "",
                 "| step | result |", "|---|---|",
                 f"| start {n} detached containers, one after the other | {sc['start_total_s']:.2f} s "
                 f"(median {ms(sc['start_median_s'])} ms a container, slowest {ms(sc['start_max_s'])} ms) |",
                 f"| running afterwards (`ps`) | {sc['running']} of {n} |",
                 f"| answered one ping from the lab host | {sc['answered']} of {n} ({sc['ping_total_s']:.2f} s for all) |",
                 f"| their supervisors, resident in all | {sc['supervisors_rss_kib'] / 1024:.1f} MiB |",
                 f"| remove them all (`rm -f` of {n} ids) | {sc['rm_total_s']:.2f} s ({ms(sc['rm_total_s'] / n)} ms a container) |",
                 f"| left behind (containers, processes, cgroups, veths, endpoints, DNAT rules, mounts, directories; then the bridge and chains after `network rm`) | {'nothing' if not sc['left_behind'] else '; '.join(sc['left_behind'])} |",
                 ""]
        if sc["n"] != 100:
            body += [f"*This run used {n} containers, not 100 (SCALE_N).*", ""]
    else:
        targets.append(Target("scale", "100 containers start, answer and are removed with nothing left behind"))

    # where the time goes
    prof = load_json(results, "profile.json")
    if prof:
        body += ["## Where the time goes", "", text.get("profile", ""), ""]
        if "skipped" in prof:
            body += [f"*Not profiled in this run: {prof['skipped']}.*", ""]
        else:
            body += [profile_tables(prof), ""]

    # the page
    lines = ["<!-- Generated by `make bench` (bench/run.sh -> bench/report.py). Do not edit:",
             "     the words live in bench/page.md, the numbers in the run. -->", "",
             "# Performance", "", text.get("intro", ""), ""]
    lines += ["## The machine and the build", "", machine_table(before, after), ""]
    if busy(before) or busy(after):
        lines += ["*The machine was busy with other work during this run (see the load and the "
                  "pressure above). Every command took longer than on an idle machine, and the "
                  "commands that wait more often (for the disk, for a child, for a CPU after a "
                  "wait) took longer by more: the ratios below are those of a busy machine.*", ""]
    lines += ["## Targets", "",
              "Medians and ratios from this one run; each ratio compares two commands timed "
              "in the same rounds.", "",
              "| target | measured | |", "|---|---|---|"]
    for t in targets:
        lines.append(f"| {t.text} | {t.measured or '—'} | {t.verdict()} |")
    lines.append("")
    missed = [t for t in targets if t.ok is False]
    if missed:
        lines += ["### Missed targets: why, and what would close them", ""]
        for t in missed:
            lines += [f"**{t.text}**: measured {t.measured}.", "", text.get("miss:" + t.key, "(no note)"), ""]
    lines += body
    lines += [text.get("findings", ""), "", text.get("reproduce", ""), ""]
    with open(out, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


# Syscalls in which a process only waits for another one (its child, a
# pipe, a thread): counting them would count the same time twice.
WAITS = {"wait4", "waitid", "poll", "ppoll", "select", "pselect6", "epoll_wait",
         "epoll_pwait", "futex", "read", "clock_nanosleep", "nanosleep", "rt_sigtimedwait",
         "rt_sigsuspend", "pause", "exit", "exit_group", "execve"}


def profile_tables(prof):
    cases = prof["cases"]
    names = [c for c in ("plain", "net+port", "runc") if c in cases]
    label = {"plain": "`run --rm true`", "net+port": "`run --rm --net -p true`", "runc": "`runc run`"}
    ranked = {}
    for c in names:
        for sc, v in cases[c]["syscalls"].items():
            if sc not in WAITS:
                ranked[sc] = max(ranked.get(sc, 0), v["ms"])
    top = sorted(ranked, key=lambda sc: -ranked[sc])[:12]
    rows = ["| syscall | " + " | ".join(f"{label[c]} calls | ms" for c in names) + " |",
            "|---|" + "---:|---:|" * len(names)]
    for sc in top:
        cells = []
        for c in names:
            v = cases[c]["syscalls"].get(sc)
            cells += [f"{v['calls']:.0f}", f"{v['ms']:.2f}"] if v else ["", ""]
        rows.append(f"| `{sc}` | " + " | ".join(cells) + " |")
    procs = ["| process (or thread) | " + " | ".join(label[c] for c in names) + " |",
             "|---|" + "---:|" * len(names)]
    every = sorted({p for c in names for p in cases[c]["processes"]})
    for p in every:
        procs.append(f"| `{p}` | " + " | ".join(
            f"{cases[c]['processes'].get(p, 0):.0f}" for c in names) + " |")
    return (f"Time spent inside each system call, per run (mean of {prof['runs']} runs under "
            "`perf trace -s`, which slows every call a little), the twelve largest; calls that only "
            "wait for another process or thread (`wait4`, `read` of a pipe, `poll`, `futex`, ...) "
            "are left out, since that time is counted where it is spent.\n\n"
            + "\n".join(rows) + "\n\nProcesses and threads per run (a thread shows its own name, "
            "as `container-netns`; names are cut to 15 characters):\n\n" + "\n".join(procs))


def busy(m):
    """More runnable work than half the cores, or tasks waiting for a CPU
    more than a tenth of the time."""
    try:
        load = float(m.get("loadavg", ["0"])[0])
        cpu = float(m.get("pressure_cpu", {}).get("avg60", 0))
    except (TypeError, ValueError):
        return False
    return load > (m.get("cores") or 1) / 2 or cpu > 10


def machine_table(before, after):
    if not before:
        return "(not recorded)"
    v = before.get("versions", {})
    load = lambda m: ", ".join(m.get("loadavg", [])) or "?"
    def psi(m, k):
        value = m.get(f"pressure_{k}", {}).get("avg60")
        return f"{float(value):.0f} %" if value is not None else "?"
    rows = ["| | |", "|---|---|",
            f"| measured | {before.get('date')} |",
            f"| machine | {before.get('cpu')}, {before.get('cores')} cores, {before.get('memory_gib')} GiB |",
            f"| system | {before.get('os')}, Linux {before.get('kernel')} |",
            f"| cgroups | {before.get('cgroups')} |",
            f"| scratch filesystem | {before.get('work_fs')} (the data roots and bundles live there) |",
            f"| load average (1, 5, 15 min) | before {load(before)}; after {load(after) if after else '?'} |",
            f"| pressure, % of time some task waited (last minute) | CPU {psi(before, 'cpu')} before, "
            f"{psi(after, 'cpu') if after else '?'} after; I/O {psi(before, 'io')} before, "
            f"{psi(after, 'io') if after else '?'} after |",
            f"| mydocker | the **release** build (`cargo build --release -p ch06-final`, "
            f"`target/release/mydocker`, {before.get('binary_mib')} MiB), commit {before.get('commit')}"
            f"{' with local changes' if before.get('dirty') else ''} |",
            f"| peers and tools | {v.get('runc')}; {v.get('util-linux')}; {v.get('busybox')} (static); "
            f"{v.get('iptables')}; {v.get('hyperfine')}; {v.get('rustc')} |"]
    return "\n".join(rows)


if __name__ == "__main__" and len(sys.argv) == 3 and not sys.argv[1].startswith("--"):
    page(sys.argv[1], sys.argv[2])
