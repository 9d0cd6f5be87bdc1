#!/usr/bin/env python3
"""Turns README.md's tour blocks into a bash script, so the tour is tested verbatim.

A tour block is a fenced block whose info string is `sh TAG` (TAG: `tour`, or
`tour-docker`). Every line runs as written. A line ending in `#> TEXT` must also print
exactly TEXT on stdout (trailing newlines aside), else the script stops with both.
Usage: extract_tour.py README.md TAG > tour.sh
"""
import re
import shlex
import sys

EXPECT = re.compile(r"^(?P<cmd>.*?)\s+#>\s?(?P<text>.*)$")


def blocks(text, tag):
    """Yields the lines of every ```sh TAG block, in order."""
    inside = False
    for line in text.splitlines():
        fence = line.strip()
        if not inside and fence == "```sh " + tag:
            inside = True
            yield "# ---- block"
        elif inside and fence == "```":
            inside = False
        elif inside:
            yield line


def script(lines):
    out = ["set -euo pipefail",
           "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # nodes a failed step left running"]
    for n, line in enumerate(lines, 1):
        m = EXPECT.match(line)
        if not m:
            out.append("echo " + shlex.quote("$ " + line))
            out.append(line)
            continue
        cmd, text = m.group("cmd"), m.group("text").rstrip()
        out.append("echo " + shlex.quote("$ " + cmd))
        out.append("__out=$(%s) || { echo %s; exit 1; }"
                   % (cmd, shlex.quote("FAIL: exited non-zero: " + cmd)))
        out.append('[ "$__out" = %s ] || { echo %s; echo "printed: $__out"; exit 1; }'
                   % (shlex.quote(text), shlex.quote("FAIL: " + cmd + "\nREADME says: " + text)))
        out.append('echo "$__out"')
    return "\n".join(out) + "\n"


def main():
    readme, tag = sys.argv[1], sys.argv[2]
    lines = list(blocks(open(readme, encoding="utf-8").read(), tag))
    if not lines:
        sys.exit("no ```sh %s blocks in %s" % (tag, readme))
    sys.stdout.write(script(lines))


if __name__ == "__main__":
    main()
