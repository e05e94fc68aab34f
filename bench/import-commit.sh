#!/usr/bin/env bash
# Chapter 4, acceptance 6: how fast are `import` and `commit`, next to the
# plain tar doing the same amount of file work?
#
#   import of a large rootfs tar   vs   tar -x of the same file
#   commit of a large change       vs   tar -c of the container's upper dir,
#                                       and vs tar -c | tar -x (pack + unpack,
#                                       which is what commit does)
#
# The rootfs is synthesized (random data, so nothing compresses away): FILES
# files in 60 directories, mostly small with a few large ones, ~SCALE MB in
# all, plus symlinks. Needs root (commit needs a real container) and
# busybox-static. Uses hyperfine when installed, else times RUNS runs itself.
# Prints a markdown table of medians and ratios (mydocker / tar: below 1 means
# mydocker is faster).
#
#   bench/import-commit.sh                    defaults: FILES=3600 RUNS=5
#   FILES=1200 RUNS=3 bench/import-commit.sh  quicker
#
# The machine's other load shows up in the numbers: run it on a quiet machine.
set -euo pipefail

FILES=${FILES:-3600}
RUNS=${RUNS:-5}
cd "$(dirname "$0")/.."
REPO=$PWD

if [ "$(id -u)" != 0 ]; then
    echo "$0: needs root (commit runs a container)" >&2
    exit 1
fi

cargo build --release -q -p ch04-images
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/ch04-images

# A disk-backed work directory (overlayfs and a fair tar need a real disk).
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/mydocker-bench.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

echo "== synthesizing a rootfs of $FILES files in $WORK" >&2
RANDOM=4 # a fixed seed: the same tree every time
sizes=(512 2048 4096 16384 65536 131072)
rootfs=$WORK/rootfs
per_dir=$(( (FILES + 59) / 60 ))
made=0
for d in $(seq -w 0 59); do
    dir=$rootfs/usr/lib/pkg$d
    mkdir -p "$dir"
    for f in $(seq -w 1 "$per_dir"); do
        [ "$made" -lt "$FILES" ] || break
        size=${sizes[RANDOM % 6]}
        # About one file in a hundred is large (5 to 20 MB).
        if [ $((RANDOM % 100)) = 0 ]; then size=$(( (5 + RANDOM % 16) << 20 )); fi
        head -c "$size" /dev/urandom > "$dir/file$f.so"
        made=$((made + 1))
    done
    ln -s "pkg$d/file$(seq -w 1 "$per_dir" | head -1).so" "$rootfs/usr/lib/lib$d.so"
done
tar --numeric-owner -C "$rootfs" -cf "$WORK/big.tar" .
TAR_MB=$(( $(stat -c %s "$WORK/big.tar") >> 20 ))
echo "== rootfs tar: $TAR_MB MB, $made files" >&2

# median_of NAME COMMAND PREPARE: prints the median wall time in seconds.
RESULTS=$WORK/results
mkdir -p "$RESULTS"
measure() {
    local name=$1 cmd=$2 prepare=$3
    if command -v hyperfine >/dev/null; then
        hyperfine --style none --runs "$RUNS" --prepare "$prepare" \
            --export-json "$RESULTS/$name.json" "$cmd" >&2
        # The median, without needing jq: the first "median" in the export.
        grep -o '"median": *[0-9.e+-]*' "$RESULTS/$name.json" | head -1 | sed 's/.*: *//'
    else
        local times=()
        for _ in $(seq "$RUNS"); do
            bash -c "$prepare"
            local t0 t1
            t0=$(date +%s.%N)
            bash -c "$cmd" >/dev/null
            t1=$(date +%s.%N)
            times+=("$(echo "$t1 - $t0" | bc -l)")
        done
        printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
    fi
}

echo "== import vs tar -x" >&2
IMPORT=$(measure import "$BIN --root $WORK/r1 import $WORK/big.tar big" "rm -rf $WORK/r1; sync")
TARX=$(measure tar-x "tar -xf $WORK/big.tar -C $WORK/x" "rm -rf $WORK/x; mkdir -p $WORK/x; sync")

echo "== commit vs tar -c" >&2
R2=$WORK/r2
"$REPO/scripts/busybox-rootfs.sh" -t "$WORK/busybox.tar"
"$BIN" --root "$R2" import "$WORK/busybox.tar" busybox >/dev/null
"$BIN" --root "$R2" run --name big busybox true
id=$(ls "$R2/containers" | grep -E '^[0-9a-f]{64}$' | head -1)
upper=$R2/containers/$id/upper
# What the container would have written: the whole synthesized tree.
cp -a "$rootfs/." "$upper/"
COMMIT=$(measure commit "$BIN --root $R2 commit big bigimg" \
    "$BIN --root $R2 rmi bigimg >/dev/null 2>&1 || true; sync")
TARC=$(measure tar-c "tar -cf $WORK/c.tar -C $upper ." "rm -f $WORK/c.tar; sync")
# What commit really does is pack the change *and* unpack it as a layer:
# the same work in plain tar is a pipe from one tar to another.
TARCX=$(measure tar-cx "tar -cf - -C $upper . | tar -xf - -C $WORK/cx" "rm -rf $WORK/cx; mkdir -p $WORK/cx; sync")

# Commit writes only the change: an empty change next to the big one.
"$BIN" --root "$R2" run --name small busybox true
"$BIN" --root "$R2" commit small smallimg >/dev/null
layer_size() {
    local diff
    diff=$("$BIN" --root "$R2" save "$1" | tar -xO manifest.json | grep -o 'blobs/sha256/[0-9a-f]*"\]' | sed 's/.*sha256\///; s/"\]//')
    grep -o '"size": *[0-9]*' "$R2/layers/sha256/$diff/layer.json" | sed 's/.*: *//'
}
SMALL=$(layer_size smallimg)
BIG=$(layer_size bigimg)

ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
fmt() { printf '%.3f' "$1"; }

cat <<EOF

### Chapter 4: import and commit ($made files, $TAR_MB MB; median of $RUNS runs)

| operation | mydocker | peer | mydocker (s) | peer (s) | ratio |
|-----------|----------|------|-------------:|---------:|------:|
| unpack a rootfs tar | \`import\` | \`tar -x\` | $(fmt "$IMPORT") | $(fmt "$TARX") | $(ratio "$IMPORT" "$TARX") |
| pack a container's change | \`commit\` | \`tar -c\` | $(fmt "$COMMIT") | $(fmt "$TARC") | $(ratio "$COMMIT" "$TARC") |
| pack it and unpack it as a layer | \`commit\` | \`tar -c \| tar -x\` | $(fmt "$COMMIT") | $(fmt "$TARCX") | $(ratio "$COMMIT" "$TARCX") |

\`import\` also computes the layer's sha256 and records its tar-split; \`commit\`
also unpacks the new layer into the store. Commit writes only the change: the
new layer of an empty change is $SMALL bytes, of the $TAR_MB MB change $BIG bytes.
EOF
