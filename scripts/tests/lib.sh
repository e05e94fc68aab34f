# Shared by the tests under scripts/tests/ (sourced, not run). Each test is a
# script that exits 0 when every check held and non-zero, naming the check,
# when one did not. `make test-scripts` runs them all.

# The workspace's top directory.
WORKSPACE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# fail MESSAGE...: report a failed check on stderr and stop the test.
fail() {
    echo "FAIL ${TEST_NAME:-$(basename "$0")}: $*" >&2
    exit 1
}

# require_root NAME: true as root. Otherwise says why NAME is skipped and is
# false, or, with MYDOCKER_NO_SKIP=1 (CI), fails: a skip must not pass there.
require_root() {
    [ "$(id -u)" = 0 ] && return 0
    if [ "${MYDOCKER_NO_SKIP:-}" = 1 ]; then
        fail "needs root (running as uid $(id -u)), and MYDOCKER_NO_SKIP=1 forbids skipping"
    fi
    echo "skipping $1: needs root (running as uid $(id -u))" >&2
    return 1
}
