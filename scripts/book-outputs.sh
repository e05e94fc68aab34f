#!/usr/bin/env bash
# Runs the book's labs and writes what they print, so every output the book
# shows comes from a real run of the code in this checkout.
#
#   scripts/book-outputs.sh [NAME...]          regenerate book/src/outputs/NAME.out
#   scripts/book-outputs.sh --check [NAME...]  run again into a temporary directory and
#                                              fail, naming the book page, if any output
#                                              changed (`make test` runs this as root)
#   scripts/book-outputs.sh --commands         no root, no run: every .out shows exactly
#                                              the commands of its .sh (check-book.sh)
#   scripts/book-outputs.sh --list             the labs, and the pages that show them
#
# A lab is a script, book/src/outputs/NAME.sh, holding the commands exactly
# as a reader types them in a lab shell (scripts/lab.sh exec mdlab bash, with
# mydocker on PATH). Its lines are:
#
#   # ANCHOR: part / # ANCHOR_END: part   copied into the .out: the book page
#                                         includes outputs/NAME.out:part
#   # any other comment, blank lines      notes for maintainers, not shown
#   # filter: /REGEX/REPLACEMENT/         an extra filter for this lab (Python re)
#   # prompt: $                           the prompt shown before commands (default #)
#   # requires: CONDITION                 a shell test of the machine; where it fails
#                                         the lab is skipped (outputs that depend on
#                                         the host, such as its cgroup version)
#   @ COMMAND                             run but not shown (waiting, cleanup); the
#                                         lab fails if it fails
#   COMMAND                               shown as "# COMMAND", followed by what it
#                                         printed (stdout and stderr, in order).
#                                         A command may go on over several lines
#                                         (a trailing \, an open quote).
#
# Every lab runs alone, as root, in a fresh world that cannot touch the machine:
#   - a mount namespace of its own with a private /run/netns, so its lab is
#     called "mdlab" (and its internet "mdlab-inet"), as in the book, whatever
#     other labs exist on the machine;
#   - a PID namespace of its own: when the lab ends, every process it started
#     ends with it; UTS and IPC namespaces of its own, where the machine is
#     called "vm" and has no message queues yet;
#   - a network lab made by scripts/lab.sh (the "host" is the namespace mdlab,
#     the "internet" mdlab-inet at 198.51.100.1); the commands run inside mdlab;
#   - mydocker's default root, /var/lib/mydocker, is a temporary directory
#     bind-mounted there (in the lab's mount namespace only); the working
#     directory is a temporary one, empty but for a link to the workspace's
#     scripts/ and examples/ (labs type scripts/lab.sh as from the top of the
#     workspace);
#     /tmp is an empty tmpfs; LC_ALL=C;
#   - mydocker from $CARGO_TARGET_DIR/debug (override with MYDOCKER_BIN) first on
#     PATH, with the chapters' programs (ch01-namespaces ...) found beside it,
#     then the system's directories, and cargo's (for rustc) last.
# Afterwards every container is removed (rm -f: cgroups, veths, addresses), the
# lab is deleted, the temporary directory too, also when the lab fails.
#
# Filters. Some things differ on every run; the .out files hold stable
# placeholders instead, the same on every run (the book says so where it
# shows them):
#   - container and image ids (64 or 12 hex digits, sha256:..., the veth
#     name veth + 7 digits): the n-th id of a lab becomes the first hex digits
#     of sha256("mydocker-book-n"), so one container keeps one id throughout;
#   - MAC addresses: the n-th becomes 02:00:00:00:00:0n; IPv6 link-local
#     addresses: fe80::n;
#   - namespace inode numbers (net:[4026532...]): the n-th becomes 40265322nn;
#   - durations ("3 seconds ago", "Up About a minute"): "N seconds", and the
#     ps/images tables are realigned afterwards;
#   - dates (2025-...T...Z): 2025-01-01T12:00:00.000000000Z;
#   - ping round-trip times: 0.100 ms; curl's "after N ms": after 0 ms;
#   - spaces at the end of a line are removed;
#   - the temporary working directory: /root.
#
# Needs root (namespaces, mounts, iptables), scripts/lab.sh's tools (iproute2,
# iptables), util-linux (unshare, nsenter), python3, and the busybox image
# /root/busybox.tar (made as `make init` makes it, when missing). As a normal user --check prints
# why it skips, and fails instead when MYDOCKER_NO_SKIP=1.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=$here/book/src/outputs
SRC_DIR=$here/book/src
LAB_TIMEOUT=${LAB_TIMEOUT:-60}
JOBS=${BOOK_OUTPUT_JOBS:-4}

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---- the Python half: parsing, transcripts, filters ----------------------
py() {
    python3 - "$@" <<'PY'
import hashlib
import os
import re
import subprocess
import sys

ANCHOR = re.compile(r"^\s*#\s*ANCHOR(_END)?:\s*\S+\s*$")
FILTER = re.compile(r"^\s*#\s*filter:\s*(.)(.*)$")
PROMPT = re.compile(r"^\s*#\s*prompt:\s*(\S+)\s*$")
MARK = "\x1e"


def complete(text):
    """True when text is one whole shell command (bash -n accepts it)."""
    if text.rstrip("\n").endswith("\\"):
        return False
    r = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    # An open here-document is only a warning for bash -n.
    return r.returncode == 0 and not r.stderr


def parse(path):
    """The items of a lab: ("anchor", line), ("cmd", text), ("hidden", text)."""
    global prompt
    items, filters = [], []
    prompt = "#"
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    acc, kind, start = [], None, 0
    for n, line in enumerate(lines, 1):
        if not acc:
            if n == 1 and line.startswith("#!"):
                continue
            if ANCHOR.match(line):
                items.append(("anchor", line.strip()))
                continue
            m = PROMPT.match(line)
            if m:
                prompt = m.group(1)
                continue
            m = FILTER.match(line)
            if m:
                delim, rest = m.group(1), m.group(2)
                parts = rest.split(delim)
                if len(parts) < 2:
                    sys.exit(f"{path}:{n}: a filter is written # filter: /REGEX/REPLACEMENT/")
                filters.append((re.compile(parts[0], re.M), parts[1]))
                continue
            if not line.strip() or line.lstrip().startswith("#"):  # notes, requires:
                continue
            kind, start = ("hidden", n) if line.startswith("@ ") else ("cmd", n)
            if kind == "hidden":
                line = line[2:]
        acc.append(line)
        text = "\n".join(acc) + "\n"
        if complete(text):
            items.append((kind, text.rstrip("\n")))
            acc = []
    if acc:
        sys.exit(f"{path}:{start}: the command starting here never ends (bash -n: syntax error)")
    return items, filters


def program(path, out):
    """The bash program that runs a lab, with a marker before every item."""
    items, _ = parse(path)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("# generated by scripts/book-outputs.sh from %s\n" % path)
        # The markers keep $? as the last command left it, for "echo $?".
        fh.write("__mark() { local rc=$?; printf '\\036%s\\n' \"$1\"; return $rc; }\n")
        fh.write("__check() { local rc=$?; [ $rc -eq 0 ] || printf '\\036fail %s %s\\n' \"$1\" \"$rc\"; return $rc; }\n")
        for i, (kind, text) in enumerate(items):
            if kind == "anchor":
                continue
            fh.write("__mark %d\n" % i)
            fh.write(text + "\n")
            if kind == "hidden":
                fh.write("__check %d\n" % i)
        fh.write("__mark end\n")


prompt = "#"


def shown(text):
    """A command as the book shows it: the prompt, then the lines as typed."""
    return prompt + " " + text


# ---- filters ---------------------------------------------------------------
class Filters:
    def __init__(self, extra, replacements):
        self.extra = extra
        self.replacements = replacements
        self.ids = {}        # first 12 hex digits -> fake 64-digit id
        self.macs = {}
        self.ll = {}
        self.inodes = {}

    def fake_id(self, real):
        key = real[:12]
        if key not in self.ids:
            n = len(self.ids) + 1
            self.ids[key] = hashlib.sha256(f"mydocker-book-{n}".encode()).hexdigest()
        return self.ids[key]

    def veth(self, m):
        short = m.group(1)
        for key, fake in self.ids.items():
            if key.startswith(short):
                return "veth" + fake[:7]
        return "veth" + self.fake_id(short + "0" * 5)[:7]

    def id_token(self, m):
        token = m.group(2)
        # A number of 12 digits is an id only if it began an id seen before.
        if token.isdigit() and token[:12] not in self.ids:
            return m.group(0)
        fake = self.fake_id(token)
        return (m.group(1) or "") + fake[: len(token)]

    def mac(self, m):
        mac = m.group(0).lower()
        if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            return m.group(0)
        if mac not in self.macs:
            self.macs[mac] = "02:00:00:00:00:%02x" % (len(self.macs) + 1)
        fake = self.macs[mac]
        return fake.upper() if m.group(0).isupper() else fake

    def link_local(self, m):
        addr = m.group(0)
        if addr not in self.ll:
            self.ll[addr] = "fe80::%x" % (len(self.ll) + 1)
        return self.ll[addr]

    def inode(self, m):
        kind, number = m.group(1), m.group(2)
        if number not in self.inodes:
            self.inodes[number] = "40265322%02d" % (len(self.inodes) + 1)
        return f"{kind}:[{self.inodes[number]}]"

    DURATION = re.compile(
        r"\b(Less than a second|About a minute|About an hour|\d+ (?:second|minute|hour|day|week|month|year)s?)\b"
    )
    ID = re.compile(r"(?<![0-9A-Za-z])(sha256:)?([0-9a-f]{64}|[0-9a-f]{12})(?![0-9A-Za-z])")
    VETH = re.compile(r"\bveth([0-9a-f]{7})\b")
    MAC = re.compile(r"(?<![0-9a-fA-F:])(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}(?![0-9a-fA-F:])")
    LINK_LOCAL = re.compile(r"\bfe80::[0-9a-f:]*[0-9a-f]")
    INODE = re.compile(r"\b([a-z_]+):\[(\d{10})\]")
    DATE = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
    PING = re.compile(r"time=\d+(?:\.\d+)? ms")
    AFTER_MS = re.compile(r"\bafter \d+ ms\b")
    RTT = re.compile(r"min/avg/max = [\d.]+/[\d.]+/[\d.]+ ms")
    SAVE = re.compile(r"^# (Generated by|Completed on) (.*?) on .*$", re.M)

    def line(self, s):
        for old, new in self.replacements:
            s = s.replace(old, new)
        for rx, repl in self.extra:
            s = rx.sub(repl, s)
        s = self.SAVE.sub(r"# \1 \2 on Thu Jan  1 12:00:00 2025", s)
        s = self.DATE.sub(lambda m: "2025-01-01T12:00:00" + (".000000000" if m.group(1) else "") + "Z", s)
        s = self.VETH.sub(self.veth, s)
        s = self.ID.sub(self.id_token, s)
        s = self.MAC.sub(self.mac, s)
        s = self.LINK_LOCAL.sub(self.link_local, s)
        s = self.INODE.sub(self.inode, s)
        s = self.PING.sub("time=0.100 ms", s)
        s = self.AFTER_MS.sub("after 0 ms", s)
        s = self.RTT.sub("min/avg/max = 0.100/0.100/0.100 ms", s)
        s = self.DURATION.sub("N seconds", s)
        return s.rstrip()

    TABLE = re.compile(r"^(CONTAINER ID|REPOSITORY|NETWORK ID)\s{2,}")

    def text(self, text):
        """Filters a command's output; tables are cut into cells by the
        header's columns, filtered, and aligned again."""
        out, lines, i = [], text.split("\n"), 0
        while i < len(lines):
            if not self.TABLE.match(lines[i]):
                out.append(self.line(lines[i]))
                i += 1
                continue
            header = lines[i]
            starts = [m.start() for m in re.finditer(r"(?:(?<=\s\s)|^)\S", header)]
            rows = []
            while i < len(lines) and lines[i].strip():
                row = lines[i]
                cells = [row[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
                rows.append(cells)
                i += 1
                if i < len(lines) and self.TABLE.match(lines[i]):
                    break
            rows = [[self.line(c) for c in r] for r in rows]
            widths = [max(len(r[k]) for r in rows) for k in range(len(starts))]
            for r in rows:
                cells = [c.ljust(widths[k] + 3) if k < len(r) - 1 else c for k, c in enumerate(r)]
                out.append("".join(cells).rstrip())
        return "\n".join(out)


def transcript(path, raw_path, out_path, replacements):
    """Turns a lab's raw output (markers + output) into the .out transcript."""
    items, extra = parse(path)
    with open(raw_path, "rb") as fh:
        raw = fh.read().decode("utf-8", errors="replace")
    segments, failures, ended = {}, [], False
    parts = raw.split(MARK)
    if parts and parts[0].strip():
        segments["pre"] = parts[0]
    for part in parts[1:]:
        head, _, body = part.partition("\n")
        if head == "end":
            ended = True
            continue
        if head.startswith("fail "):
            _, i, rc = head.split()
            failures.append((int(i), rc))
            continue
        segments[int(head)] = body
    name = os.path.relpath(path)
    for i, rc in failures:
        sys.stderr.write(f"{name}: hidden command failed (exit {rc}): {items[i][1]}\n")
        sys.stderr.write(segments.get(i, ""))
    if not ended:
        last = max((k for k in segments if isinstance(k, int)), default=None)
        where = f" in: {items[last][1]}" if last is not None else ""
        sys.stderr.write(f"{name}: the lab did not finish (timeout or a crash){where}\n")
        sys.stderr.write(raw[-2000:])
    if failures or not ended:
        return False
    f = Filters(extra, replacements)
    out = []
    for i, (kind, text) in enumerate(items):
        if kind == "anchor":
            out.append(text)
        elif kind == "cmd":
            out.append(shown(text))
            body = segments.get(i, "")
            if body.endswith("\n"):
                body = body[:-1]
            if body:
                out.append(f.text(body))
    with open(out_path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    return True


def commands(out_dir):
    """Without running anything: each .out shows the commands of its .sh."""
    errors = []
    names = sorted(f[:-3] for f in os.listdir(out_dir) if f.endswith(".sh"))
    outs = sorted(f[:-4] for f in os.listdir(out_dir) if f.endswith(".out"))
    for n in outs:
        if n not in names:
            errors.append(f"{out_dir}/{n}.out has no {n}.sh: delete it, or restore the lab")
    for n in names:
        sh, out = os.path.relpath(f"{out_dir}/{n}.sh"), os.path.relpath(f"{out_dir}/{n}.out")
        if not os.path.exists(out):
            errors.append(f"{out} is missing: run scripts/book-outputs.sh {n}")
            continue
        items, _ = parse(sh)
        expected = [shown(t) if k == "cmd" else t for k, t in items if k != "hidden"]
        with open(out, encoding="utf-8") as fh:
            text = fh.read()
        # The .out must contain the expected command and anchor lines, in order.
        pos, lines = 0, text.split("\n")
        for exp in expected:
            first = exp.split("\n")
            while pos < len(lines) and lines[pos:pos + len(first)] != first:
                pos += 1
            if pos >= len(lines):
                errors.append(f"{out} does not show '{first[0]}' where {sh} runs it: "
                              f"run scripts/book-outputs.sh {n}")
                break
            pos += len(first)
    for e in errors:
        print(f"book-outputs: {e}", file=sys.stderr)
    return not errors


mode = sys.argv[1]
if mode == "program":
    program(sys.argv[2], sys.argv[3])
elif mode == "transcript":
    reps = [tuple(r.split("=", 1)) for r in sys.argv[5:]]
    sys.exit(0 if transcript(sys.argv[2], sys.argv[3], sys.argv[4], reps) else 1)
elif mode == "commands":
    sys.exit(0 if commands(sys.argv[2]) else 1)
else:
    sys.exit(f"unknown mode {mode}")
PY
}

# The pages that include outputs/NAME.out (for messages).
pages_of() {
    local pages
    pages=$(grep -rl --include='*.md' "outputs/$1\.out" "$SRC_DIR" 2>/dev/null | sed "s|^$here/||" | sort | paste -sd' ' -)
    echo "${pages:-no page yet}"
}

# ---- running one lab -------------------------------------------------------
# run_lab NAME DEST: runs book/src/outputs/NAME.sh, writes DEST (the .out).
run_lab() {
    local name=$1 dest=$2 tmp
    tmp=$(mktemp -d "/var/tmp/book-outputs-$name.XXXXXX")
    mkdir -p "$tmp/root" "$tmp/work" "$tmp/bin" "$tmp/here"
    # Labs may run a command as another user (setpriv): let it reach them.
    chmod 755 "$tmp" "$tmp/bin" "$tmp/work"
    # The chapters' labs run from the top of the workspace (scripts/...).
    ln -s "$here/scripts" "$tmp/work/scripts"
    ln -s "$here/examples" "$tmp/work/examples"
    # The programs are reached through $tmp/programs, a bind mount of their
    # directory made before /tmp is covered (the binaries may live in /tmp).
    mkdir -p "$tmp/programs"
    ln -s "$tmp/programs/$(basename "$MYDOCKER_BIN")" "$tmp/bin/mydocker"
    # Each chapter's own program too, for the chapters' labs.
    local b
    for b in "$(dirname "$MYDOCKER_BIN")"/ch0[0-9]-*; do
        [ -f "$b" ] && [ -x "$b" ] && ln -s "$tmp/programs/$(basename "$b")" "$tmp/bin/$(basename "$b")"
    done
    py program "$OUT_DIR/$name.sh" "$tmp/lab.sh"
    # The inner part runs in new mount and PID namespaces; see the header.
    local status=0
    unshare --mount --propagation private --pid --fork --mount-proc --uts --ipc -- \
        env -i PATH="$tmp/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$CARGO_BIN" \
        HOME=/root LC_ALL=C TERM=dumb \
        HERE="$here" TMPDIR_LAB="$tmp" LAB_TIMEOUT="$LAB_TIMEOUT" PROGRAMS="$(dirname "$MYDOCKER_BIN")" \
        bash -c '
            set -u
            hostname vm
            mkdir -p /run/netns
            mount -t tmpfs -o mode=755 book-outputs-netns /run/netns
            # mydocker keeps its default root, as in the book, but in this
            # namespace that is the lab'"'"'s own temporary directory.
            mkdir -p /var/lib/mydocker
            mount --bind "$TMPDIR_LAB/root" /var/lib/mydocker
            mount --bind "$PROGRAMS" "$TMPDIR_LAB/programs"
            # A /tmp of its own, for labs that work in /tmp/lab.
            # The checkout itself may live under /tmp (CI clones anywhere):
            # keep it visible through the new /tmp.
            mount --bind "$HERE" "$TMPDIR_LAB/here"
            mount -t tmpfs -o mode=1777 book-outputs-tmp /tmp
            mkdir -p "$HERE"
            mount --bind "$TMPDIR_LAB/here" "$HERE"
            teardown() {
                for id in $("$HERE/scripts/lab.sh" exec mdlab mydocker ps -a -q --no-trunc 2>/dev/null); do
                    "$HERE/scripts/lab.sh" exec mdlab mydocker rm -f "$id" >/dev/null 2>&1
                done
                for net in $("$HERE/scripts/lab.sh" exec mdlab mydocker network ls -q 2>/dev/null); do
                    "$HERE/scripts/lab.sh" exec mdlab mydocker network rm "$net" >/dev/null 2>&1
                done
                "$HERE/scripts/lab.sh" down mdlab
            }
            trap teardown EXIT
            "$HERE/scripts/lab.sh" up mdlab
            cd "$TMPDIR_LAB/work"
            timeout -k 5 "$LAB_TIMEOUT" nsenter --net=/run/netns/mdlab bash "$TMPDIR_LAB/lab.sh" \
                </dev/null >"$TMPDIR_LAB/raw" 2>&1
            exit 0
        ' >"$tmp/runner.log" 2>&1 || status=$?
    # Cgroups of containers that rm -f could not release (it should have).
    local d id
    for d in "$tmp"/root/containers/*/; do
        [ -d "$d" ] || continue
        id=$(basename "$d")
        rmdir /sys/fs/cgroup/*/mydocker/"$id" /sys/fs/cgroup/mydocker/"$id" 2>/dev/null || true
    done
    local ok=1
    if [ "$status" -ne 0 ] || [ ! -f "$tmp/raw" ]; then
        echo "book-outputs: $name: the lab runner failed (exit $status):" >&2
        cat "$tmp/runner.log" >&2
        ok=0
    elif ! py transcript "$OUT_DIR/$name.sh" "$tmp/raw" "$dest" \
            "$tmp/work=/root"; then
        ok=0
    fi
    rm -rf "$tmp"
    [ "$ok" = 1 ]
}

# ---- main ------------------------------------------------------------------
mode=write
case "${1:-}" in
    --check) mode=check; shift ;;
    --commands) py commands "$OUT_DIR"; exit $? ;;
    --list)
        for sh in "$OUT_DIR"/*.sh; do
            n=$(basename "$sh" .sh); echo "$n: $(pages_of "$n")"
        done
        exit 0 ;;
    -h|--help) usage ;;
    -*) usage ;;
esac

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for sh in "$OUT_DIR"/*.sh; do names+=("$(basename "$sh" .sh)"); done
fi
for n in "${names[@]}"; do
    [ -f "$OUT_DIR/$n.sh" ] || { echo "book-outputs: no lab $OUT_DIR/$n.sh" >&2; exit 2; }
done

if [ "$(id -u)" != 0 ]; then
    msg="book-outputs: skipping: the labs need root (running as uid $(id -u))"
    if [ "${MYDOCKER_NO_SKIP:-}" = 1 ]; then echo "$msg, and MYDOCKER_NO_SKIP=1 forbids skipping" >&2; exit 1; fi
    echo "$msg" >&2
    [ "$mode" = check ] && exit 0 || exit 1
fi

MYDOCKER_BIN=${MYDOCKER_BIN:-${CARGO_TARGET_DIR:-$here/target}/debug/mydocker}
if [ ! -x "$MYDOCKER_BIN" ]; then
    echo "book-outputs: $MYDOCKER_BIN not found: build first (make build)" >&2
    exit 1
fi
MYDOCKER_BIN=$(readlink -f "$MYDOCKER_BIN")
CARGO_BIN=$(dirname "$(command -v rustc 2>/dev/null || echo "${CARGO_HOME:-$HOME/.cargo}/bin/rustc")")
if [ ! -f /root/busybox.tar ]; then
    # What `make init` does: the image every lab runs.
    echo "book-outputs: making /root/busybox.tar (as make init does)" >&2
    "$here/scripts/busybox-rootfs.sh" -t /root/busybox.tar
fi

results=$(mktemp -d /var/tmp/book-outputs.XXXXXX)
trap 'rm -rf "$results"' EXIT

# One lab per job; each is alone in its namespaces, so they may run side by side.
one() {
    local n=$1 dest cond
    cond=$(sed -n 's/^# requires: //p' "$OUT_DIR/$n.sh")
    if [ -n "$cond" ] && ! bash -c "$cond" >/dev/null 2>&1; then
        echo skipped >"$results/$n.status"
        return
    fi
    if [ "$mode" = check ]; then dest=$results/$n.out; else dest=$results/$n.new; fi
    if run_lab "$n" "$dest"; then echo ok >"$results/$n.status"; else echo failed >"$results/$n.status"; fi
}
export -f one run_lab py pages_of
export mode results OUT_DIR SRC_DIR here MYDOCKER_BIN LAB_TIMEOUT CARGO_BIN
start=$(date +%s)
printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} bash -c 'one "$@"' _ {}

failed=0
for n in "${names[@]}"; do
    if [ "$(cat "$results/$n.status" 2>/dev/null)" = skipped ]; then
        echo "book-outputs: skipping lab $n: this machine is not the kind it was recorded on" \
             "($(sed -n 's/^# requires: //p' "$OUT_DIR/$n.sh"))" >&2
        continue
    fi
    if [ "$(cat "$results/$n.status" 2>/dev/null)" != ok ]; then
        echo "book-outputs: lab $n failed (shown on: $(pages_of "$n"))" >&2
        failed=1
        continue
    fi
    if [ "$mode" = check ]; then
        if ! diff -u --label "committed outputs/$n.out" --label "regenerated outputs/$n.out" \
                "$OUT_DIR/$n.out" "$results/$n.out" >"$results/$n.diff" 2>&1; then
            cat "$results/$n.diff" >&2
            echo "book-outputs: outputs/$n.out no longer matches what the code prints;" \
                 "the book shows it on: $(pages_of "$n"). Regenerate: make book-outputs" >&2
            failed=1
        fi
    else
        mv "$results/$n.new" "$OUT_DIR/$n.out"
        echo "book-outputs: wrote book/src/outputs/$n.out"
    fi
done
echo "book-outputs: ${#names[@]} labs in $(( $(date +%s) - start )) s" >&2
exit $failed
