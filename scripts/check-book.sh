#!/usr/bin/env bash
# Checks the mdBook in book/ and builds it. Run from anywhere:
#
#   scripts/check-book.sh               check, then build book/book
#   scripts/check-book.sh --self-test   prove on a scratch book that a removed
#                                       anchor is reported with the page's name
#
# It fails (exit 1), naming the page and what is wrong, when
#   - an {{#include path:anchor}} (or #rustdoc_include) names a file that does
#     not exist, an anchor that the file does not define, or an anchor whose
#     content is empty. mdbook itself silently includes nothing for a missing
#     anchor, so a renamed anchor would quietly empty a listing;
#   - an {{#include path}} names a missing file;
#   - a relative link or image ([x](other.md), [x](other.md#frag), ![d](d.svg))
#     points to a file that does not exist, or to a page that SUMMARY.md does not
#     list (mdbook would not build it), or to a #fragment no heading defines;
#   - a picture (diagrams/*.svg) is not well-formed XML (a browser would show
#     nothing), no page shows it, or the built book lacks it;
#   - a recorded lab (book/src/outputs/NAME.sh) and its output NAME.out
#     disagree on the commands (scripts/book-outputs.sh --commands; whether
#     the outputs are still what the code prints is checked, as root, by
#     scripts/book-outputs.sh --check);
#   - `mdbook build book` fails or prints any WARN or ERROR line.
#
# mdbook is taken from $MDBOOK, PATH or $CARGO_HOME/bin (~/.cargo/bin); when it
# is missing it is installed with `cargo install --locked mdbook` (CI machines
# start without it).
set -euo pipefail

cd "$(dirname "$0")/.."
BOOK=book

if [ ! -f "$BOOK/book.toml" ]; then
    echo "check-book: $BOOK/book.toml not found" >&2
    exit 1
fi

# The checks, in Python: one program, two passes.
#   sources  the Markdown sources: includes, anchors, files behind links
#   html     after the build: every #fragment exists as an id in the HTML
check() {
    python3 - "$1" "${2:-$BOOK}" <<'PY'
import os
import re
import sys

mode, book = sys.argv[1], sys.argv[2]
src = os.path.join(book, "src")
out = os.path.join(book, "book")
errors = []


def pages():
    for root, _dirs, files in os.walk(src):
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(root, f)


def rel(path):
    return os.path.relpath(path)


def prose_lines(path):
    """(line number, text) of lines outside fenced code blocks, inline code removed."""
    fence = None
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.match(r"^\s*(`{3,}|~{3,})", line)
            if m:
                mark = m.group(1)
                if fence is None:
                    fence = mark
                elif mark[0] == fence[0] and len(mark) >= len(fence):
                    fence = None
                continue
            if fence is None:
                yield n, re.sub(r"`+[^`]*`+", "", line)


# ---- includes -----------------------------------------------------------
INCLUDE = re.compile(r"(\\?)\{\{#(include|rustdoc_include)\s+([^}]+?)\s*\}\}")
LINE_RANGE = re.compile(r"^\d*(:\d*)?$")


def check_include(page, n, target):
    path, _, selector = target.partition(":")
    file = os.path.normpath(os.path.join(os.path.dirname(page), path))
    where = f"{rel(page)}:{n}"
    if not os.path.isfile(file):
        errors.append(f"{where}: {{{{#include {target}}}}}: file {rel(file)} does not exist")
        return
    if not selector or LINE_RANGE.match(selector):
        return
    anchor = selector
    with open(file, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    start_re = re.compile(r"ANCHOR:\s*" + re.escape(anchor) + r"(?![\w-])")
    end_re = re.compile(r"ANCHOR_END:\s*" + re.escape(anchor) + r"(?![\w-])")
    start = next((i for i, l in enumerate(lines) if start_re.search(l)), None)
    if start is None:
        errors.append(f"{where}: anchor '{anchor}' not found in {rel(file)}")
        return
    end = next((i for i in range(start + 1, len(lines)) if end_re.search(lines[i])), None)
    if end is None:
        errors.append(f"{where}: anchor '{anchor}' in {rel(file)} has no ANCHOR_END")
        return
    body = [l for l in lines[start + 1:end] if "ANCHOR:" not in l and "ANCHOR_END:" not in l]
    if not any(l.strip() for l in body):
        errors.append(f"{where}: anchor '{anchor}' in {rel(file)} is empty")


# ---- links --------------------------------------------------------------
# [text](target "title"), ![alt](target), and reference definitions [x]: target
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
EXTERNAL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def summary_pages():
    listed = set()
    summary = os.path.join(src, "SUMMARY.md")
    if os.path.isfile(summary):
        for _n, line in prose_lines(summary):
            for m in INLINE_LINK.finditer(line):
                target = m.group(1).split("#")[0]
                if target:
                    listed.add(os.path.normpath(os.path.join(src, target)))
    return listed


def links(page):
    for n, line in prose_lines(page):
        for m in INLINE_LINK.finditer(line):
            yield n, m.group(1)
        m = REF_DEF.match(line)
        if m:
            yield n, m.group(1)


def html_ids(html_file, cache={}):
    if html_file not in cache:
        with open(html_file, encoding="utf-8") as fh:
            cache[html_file] = set(re.findall(r'\bid="([^"]+)"', fh.read()))
    return cache[html_file]


listed = summary_pages()
for page in pages():
    # mdbook expands includes everywhere, code blocks included: scan raw lines.
    if mode == "sources":
        with open(page, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                for m in INCLUDE.finditer(line):
                    if not m.group(1):  # \{{#include ...}} is shown literally
                        check_include(page, n, m.group(3))

    for n, target in links(page):
        if EXTERNAL.match(target):
            continue
        path, _, frag = target.partition("#")
        where = f"{rel(page)}:{n}"
        file = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if mode == "sources":
            if not os.path.exists(file):
                errors.append(f"{where}: link ({target}): {rel(file)} does not exist")
            elif file.endswith(".md") and os.path.basename(page) != "SUMMARY.md" and file not in listed:
                errors.append(f"{where}: link ({target}): {rel(file)} is not listed in SUMMARY.md, so the book has no page for it")
        elif mode == "html" and page in listed and file.endswith((".svg", ".png", ".jpg")):
            # A picture must be in the built book, next to the page that shows it.
            built = os.path.join(out, os.path.relpath(file, src))
            if not os.path.isfile(built):
                errors.append(f"{where}: picture ({target}) is missing from the built book: {rel(built)}")
        elif mode == "html" and frag and file.endswith(".md") and page in listed and file in listed:
            html = os.path.join(out, os.path.relpath(file, src))[:-3] + ".html"
            if os.path.isfile(html) and frag not in html_ids(html):
                errors.append(f"{where}: link ({target}): no heading with id '{frag}' in {rel(file)}")

# ---- pictures -----------------------------------------------------------
if mode == "sources":
    import xml.dom.minidom

    shown = set()
    for page in pages():
        for _n, target in links(page):
            if not EXTERNAL.match(target):
                shown.add(os.path.normpath(os.path.join(os.path.dirname(page), target.partition("#")[0])))
    diagrams = os.path.join(src, "diagrams")
    for root, _dirs, files in os.walk(diagrams):
        for f in sorted(files):
            path = os.path.join(root, f)
            if not f.endswith(".svg"):
                continue
            try:
                xml.dom.minidom.parse(path)
            except Exception as e:  # any parse error means a blank picture
                errors.append(f"{rel(path)}: not well-formed SVG: {e}")
            if os.path.normpath(path) not in shown:
                errors.append(f"{rel(path)}: no page shows this picture")

for e in errors:
    print(f"check-book: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

# A scratch book whose page includes an anchor of a scratch source; the
# anchor is then removed, and the check must fail naming the page.
self_test() {
    local tmp status=0 out
    tmp=$(mktemp -d)
    mkdir -p "$tmp/book/src" "$tmp/crate/src"
    printf '[book]\ntitle = "self-test"\n' >"$tmp/book/book.toml"
    printf '# Summary\n\n- [Page](page.md)\n' >"$tmp/book/src/SUMMARY.md"
    printf '# Page\n\n```rust\n{{#include ../../crate/src/lib.rs:answer}}\n```\n' >"$tmp/book/src/page.md"
    printf '// ANCHOR: answer\npub const ANSWER: u32 = 42;\n// ANCHOR_END: answer\n' >"$tmp/crate/src/lib.rs"
    if ! out=$(cd "$tmp" && check sources book 2>&1); then
        echo "check-book: self-test: a correct scratch book was refused: $out" >&2
        status=1
    fi
    sed -i 's/answer/renamed/' "$tmp/crate/src/lib.rs"
    if out=$(cd "$tmp" && check sources book 2>&1); then
        echo "check-book: self-test: a renamed anchor was not noticed" >&2
        status=1
    elif ! grep -q "book/src/page.md:4: anchor 'answer' not found in crate/src/lib.rs" <<<"$out"; then
        echo "check-book: self-test: the message does not name the page: $out" >&2
        status=1
    fi
    rm -rf "$tmp"
    [ "$status" = 0 ] && echo "check-book: self-test ok (a renamed anchor fails, naming book/src/page.md:4)"
    return "$status"
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit $?
fi

check sources
scripts/book-outputs.sh --commands

MDBOOK=${MDBOOK:-}
if [ -z "$MDBOOK" ]; then
    if command -v mdbook >/dev/null 2>&1; then
        MDBOOK=$(command -v mdbook)
    elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/mdbook" ]; then
        MDBOOK=${CARGO_HOME:-$HOME/.cargo}/bin/mdbook
    else
        echo "check-book: mdbook not found, installing it with cargo install --locked mdbook" >&2
        cargo install --locked mdbook
        MDBOOK=${CARGO_HOME:-$HOME/.cargo}/bin/mdbook
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$MDBOOK" build "$BOOK" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -Eq '(^|[^[:alnum:]_])(WARN|ERROR)([^[:alnum:]_]|$)' "$log"; then
    cat "$log" >&2
    echo "check-book: mdbook build $BOOK failed or printed warnings (exit status $status)" >&2
    exit 1
fi

check html

echo "check-book: ok ($(find "$BOOK/src" -name '*.md' | wc -l) pages, built into $BOOK/book)"
