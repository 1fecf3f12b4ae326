#!/usr/bin/env python3
"""The documentation check: the guides cannot drift from the code.

1. Links: every link in every tracked Markdown file stays inside the
   repository and resolves (the file exists; a #fragment names a heading of
   that file). A link with a scheme (https:, mailto:, ...) is an error: a
   clone of the repository must be all a reader needs.
2. Commands (needs --bin-dir): every fenced ```sh block of README.md and
   docs/*.md runs, each file's blocks in order in one bash process
   (`set -euo pipefail`), in a fresh scratch directory, with sprawl-server,
   sprawlctl and sprawl-log of --bin-dir first on PATH. A block that cannot
   run here is marked on the line before its fence with
       <!-- docs-check: no-run (the reason) -->
   and the reason is required. Each file runs in a network namespace of its
   own where one is available (`unshare -rn`), so the blocks use the
   documented default ports (7400, 7401, 7480) without meeting anything else
   on the machine; otherwise those ports must be free. Whatever a file's
   blocks leave running is stopped afterwards (its process group).
3. Flags (needs --bin-dir): every long flag of `sprawl-server --help`,
   `sprawlctl --help` and each sprawlctl subcommand's help, and
   `sprawl-log --help`, appears in README.md or docs/*.md; and every flag
   the guides give one of those tools (in a command line or a stand-alone
   `--flag` code span) exists in that tool's help.

Usage:
    scripts/check_docs.py --links-only          # what `make lint` runs
    scripts/check_docs.py --bin-dir build/dev/server
Python 3 standard library only. Exit status 0 when everything holds.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("sprawl-server", "sprawlctl", "sprawl-log")
DEFAULT_PORTS = (7400, 7401, 7480)
NO_RUN = re.compile(r"<!--\s*docs-check:\s*no-run\s*\((?P<reason>[^)]*)\)\s*-->")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
LINK = re.compile(r"(?<!\\)\[(?P<text>[^\]]*)\]\((?P<target><[^>]*>|[^)\s]*)(?:\s+\"[^\"]*\")?\)")
REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(?P<target>\S+)")
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*\b(?:href|src)=\"(?P<target>[^\"]*)\"", re.I)
INLINE_CODE = re.compile(r"(`+)(?P<code>.+?)\1")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LONG_FLAG = re.compile(r"(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*\*?")
FILE_TIMEOUT_S = 60


def tracked_markdown():
    try:
        out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        files = [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*.md")
                 if not any(part in ("build", "node_modules", ".git") for part in p.parts)]
    return sorted(p for p in files if p.exists())


def guides():
    """README.md and docs/*.md: the files whose commands and flags are checked."""
    return [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def rel(path):
    return path.relative_to(ROOT).as_posix()


# ---------------------------------------------------------------- Markdown


class Block:
    def __init__(self, path, line, info, text, no_run):
        self.path, self.line, self.info, self.text, self.no_run = path, line, info, text, no_run


def split_markdown(path):
    """Returns (prose lines as (number, text) outside fences, fenced blocks)."""
    prose, blocks = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        fence, start = m.group("fence"), i
        no_run = None
        for back in range(i - 1, -1, -1):  # the marker may sit before blank lines
            if lines[back].strip():
                marker = NO_RUN.search(lines[back])
                if marker:
                    no_run = marker.group("reason").strip() or ""
                break
        body = []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if close and close.group("fence")[0] == fence[0] and \
                    len(close.group("fence")) >= len(fence) and not close.group("info").strip():
                break
            body.append(lines[i])
            i += 1
        blocks.append(Block(path, start + 1, m.group("info").strip(), "\n".join(body), no_run))
        i += 1
    return prose, blocks


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    out = []
    for ch in text:
        if ch in " -":
            out.append("-")
        elif ch == "_" or unicodedata.category(ch)[0] in "LN":
            out.append(ch)
    return "".join(out)


def anchors(path, cache={}):
    if path not in cache:
        seen, found = {}, set()
        prose, _ = split_markdown(path)
        for _, line in prose:
            m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        cache[path] = found
    return cache[path]


def strip_code_spans(line):
    return INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def check_links(errors):
    count = 0
    for path in tracked_markdown():
        prose, _ = split_markdown(path)
        for number, line in prose:
            text = strip_code_spans(line)
            targets = [m.group("target") for m in LINK.finditer(text)]
            targets += [m.group("target") for m in REF_DEF.finditer(text)]
            targets += [m.group("target") for m in HTML_LINK.finditer(text)]
            for target in targets:
                count += 1
                where = f"{rel(path)}:{number}"
                target = target.strip("<>")
                if SCHEME.match(target):
                    errors.append(f"{where}: link '{target}' leads outside the repository")
                    continue
                file_part, _, fragment = target.partition("#")
                if file_part.startswith("/"):
                    errors.append(f"{where}: link '{target}' is absolute; use a relative path")
                    continue
                dest = (path.parent / file_part).resolve() if file_part else path
                try:
                    dest.relative_to(ROOT)
                except ValueError:
                    errors.append(f"{where}: link '{target}' leads outside the repository")
                    continue
                if not dest.exists():
                    errors.append(f"{where}: link '{target}': {rel(dest)} does not exist")
                    continue
                if fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                    errors.append(f"{where}: link '{target}': no heading '#{fragment}' "
                                  f"in {rel(dest)}")
    return count


# ---------------------------------------------------------------- flags


def help_text(binary, *args):
    out = subprocess.run([str(binary), *args, "--help"], capture_output=True, text=True,
                         timeout=20)
    if out.returncode != 0:
        raise RuntimeError(f"{binary.name} {' '.join(args)} --help exited {out.returncode}: "
                           f"{out.stderr.strip()}")
    return out.stdout


def parse_help(text):
    """(long flags, subcommand names) of one CLI11 help page."""
    flags, subcommands, section = set(), [], None
    for line in text.splitlines():
        if re.match(r"^[A-Za-z][A-Za-z ]*:\s*$", line):
            section = line.strip().rstrip(":").lower()
            continue
        if section and section.startswith("subcommand"):
            m = re.match(r"^\s+([a-z][a-z0-9-]*)\s", line + " ")
            if m:
                subcommands.append(m.group(1))
        elif section and section.startswith("option"):
            # Only the option column: a description may name other flags.
            column = re.split(r"\s{2,}", line.strip())[0] if line.startswith(" ") else ""
            flags.update(f for f in LONG_FLAG.findall(column) if not f.endswith("*"))
    flags.discard("--help")
    return flags, subcommands


class Cli:
    """A tool's flags: for each subcommand path, the flags valid there."""

    def __init__(self, binary):
        self.name = binary.name
        self.paths = {}
        self._walk(binary, ())

    def _walk(self, binary, path):
        flags, subs = parse_help(help_text(binary, *path))
        self.paths[path] = flags
        for sub in subs:
            self._walk(binary, path + (sub,))

    def all_flags(self):
        return set().union(*self.paths.values())

    def valid_for(self, words):
        """Flags valid for a command line: those of its subcommand and of every parent."""
        path, valid = (), set(self.paths[()])
        for word in words:
            if path + (word,) in self.paths:
                path += (word,)
                valid |= self.paths[path]
        return valid


def commands_in(text):
    """(tool, words after it) for each Sprawl tool invocation in a line of shell."""
    found = []
    for segment in re.split(r"\|\||&&|[|;&]|\$\(|`", text.split(" #")[0]):
        words = segment.split()
        for i, word in enumerate(words):
            name = word.rsplit("/", 1)[-1].lstrip("$").strip("\"'{}")
            if name in TOOLS:
                found.append((name, words[i + 1:]))
                break
    return found


def documented_text():
    parts = []
    for path in guides():
        parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def check_flags(clis, errors):
    text = documented_text()
    mentioned = set(LONG_FLAG.findall(text))
    for cli in clis.values():
        for flag in sorted(cli.all_flags()):
            if flag not in mentioned:
                errors.append(f"{cli.name} {flag}: in --help but in neither README.md nor docs/")
    every = set().union(*(c.all_flags() for c in clis.values()))

    def check(where, tool, words):
        cli = clis.get(tool)
        if cli is None:
            return
        valid = cli.valid_for([w for w in words if not w.startswith("-")])
        for word in words:
            for flag in LONG_FLAG.findall(word.split("=")[0]):
                if flag.endswith("*"):
                    if not any(f.startswith(flag[:-1]) for f in valid):
                        errors.append(f"{where}: no {tool} flag matches '{flag}'")
                elif flag not in valid and flag != "--help":
                    errors.append(f"{where}: '{tool} {flag}': {tool} has no such flag "
                                  f"(see {tool} --help)")

    for path in guides():
        prose, blocks = split_markdown(path)
        for block in blocks:
            if block.info.split()[:1] not in (["sh"], ["bash"], ["shell"], ["console"]):
                continue
            for offset, line in enumerate(block.text.splitlines(), start=1):
                for tool, words in commands_in(line):
                    check(f"{rel(path)}:{block.line + offset}", tool, words)
        for number, line in prose:
            for m in INLINE_CODE.finditer(line):
                code = m.group("code").strip()
                where = f"{rel(path)}:{number}"
                calls = commands_in(code)
                for tool, words in calls:
                    check(where, tool, words)
                if not calls and code.startswith("--"):
                    flag = LONG_FLAG.match(code)
                    if flag is None:
                        continue
                    flag = flag.group(0)
                    ok = any(f.startswith(flag[:-1]) for f in every) if flag.endswith("*") \
                        else flag in every or flag == "--help"
                    if not ok:
                        errors.append(f"{where}: '{flag}' is not a flag of "
                                      f"{', '.join(sorted(clis))}")


# ---------------------------------------------------------------- commands


def have_netns():
    try:
        out = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"],
                             capture_output=True, timeout=10)
        return out.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def group_alive(pgid):
    """Whether a process of group `pgid` still runs (zombies, which only wait to
    be reaped by their parent, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_group(proc):
    """Stops every process a file's blocks left running (the process group of
    the shell that ran them): SIGTERM, then SIGKILL after 10 s."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reaps the shell itself
            if not group_alive(proc.pid):
                return True
            time.sleep(0.05)
    return False


def run_blocks(path, blocks, bin_links, netns, verbose, errors):
    runnable = []
    for block in blocks:
        if block.info.split()[:1] != ["sh"]:
            continue
        if block.no_run is not None:
            if not block.no_run:
                errors.append(f"{rel(path)}:{block.line}: a no-run block needs a reason: "
                              f"<!-- docs-check: no-run (why) -->")
            continue
        runnable.append(block)
    if not runnable:
        return 0
    # One script per file: later blocks may use what earlier ones started.
    script = ["set -euo pipefail",
              "trap 'echo \"docs-check: failed at script line $LINENO (exit $?)\" >&2' ERR"]
    line_map = {}
    for block in runnable:
        script.append(f"echo '## {rel(path)}:{block.line}' >&2")
        for offset, line in enumerate(block.text.splitlines(), start=1):
            script.append(line)
            line_map[len(script)] = (block.line + offset, line)
    scratch = Path(tempfile.mkdtemp(prefix="sprawl-docs-"))
    (scratch / "check.sh").write_text("\n".join(script) + "\n")
    work = scratch / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPRAWL_")}
    env["PATH"] = f"{bin_links}:{env.get('PATH', '/usr/bin:/bin')}"
    env["HOME"] = str(scratch)
    command = ["bash", str(scratch / "check.sh")]
    if netns:
        command = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    started = time.monotonic()
    with open(scratch / "output.log", "w+") as log:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            status = proc.wait(timeout=FILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            status = None
        stopped = stop_group(proc)
        if status is None:
            status = proc.wait()
        log.seek(0)
        output = log.read()
    took = time.monotonic() - started
    failed = status != 0
    if failed:
        m = re.findall(r"docs-check: failed at script line (\d+)", output)
        blocks_started = re.findall(r"^## (\S+:\d+)$", output, re.M)
        where = f"{rel(path)}"
        if m and int(m[-1]) in line_map:
            md_line, text = line_map[int(m[-1])]
            where = f"{rel(path)}:{md_line}: `{text.strip()}`"
        elif blocks_started:
            where = f"{blocks_started[-1]} (the block that was running)"
        reason = "timed out after %d s" % FILE_TIMEOUT_S if took >= FILE_TIMEOUT_S else \
            f"exit {status}"
        tail = "\n".join("    " + l for l in output.splitlines()[-25:])
        errors.append(f"{where}: a command block failed ({reason}); output:\n{tail}")
    if not stopped:
        errors.append(f"{rel(path)}: processes its blocks started did not stop")
    if verbose or failed:
        print(f"  {rel(path)}: {len(runnable)} block(s), {took:.1f} s, "
              f"{'FAILED' if failed else 'ok'}")
    if not failed:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"  kept {scratch} for inspection")
    return len(runnable)


def check_commands(bin_dir, verbose, errors):
    netns = have_netns()
    if not netns:
        busy = [p for p in DEFAULT_PORTS if not port_free(p)]
        if busy:
            errors.append("no network namespace available (unshare -rn) and the default ports "
                          f"{busy} are in use: the guides' blocks use the default ports")
            return 0, netns
    links = Path(tempfile.mkdtemp(prefix="sprawl-docs-bin-"))
    try:
        for tool in TOOLS:
            if (bin_dir / tool).exists():
                (links / tool).symlink_to((bin_dir / tool).resolve())
        total = 0
        for path in guides():
            _, blocks = split_markdown(path)
            total += run_blocks(path, blocks, links, netns, verbose, errors)
        return total, netns
    finally:
        shutil.rmtree(links, ignore_errors=True)


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links-only", action="store_true",
                        help="check links only (needs no build)")
    parser.add_argument("--bin-dir", type=Path,
                        help="directory with sprawl-server, sprawlctl (and sprawl-log)")
    parser.add_argument("--no-commands", action="store_true",
                        help="skip running the command blocks")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    errors = []
    started = time.monotonic()
    links = check_links(errors)
    summary = [f"{links} links"]
    if not args.links_only:
        if args.bin_dir is None:
            parser.error("--bin-dir is needed unless --links-only")
        bin_dir = args.bin_dir.resolve()
        for tool in ("sprawl-server", "sprawlctl"):
            if not (bin_dir / tool).is_file():
                parser.error(f"{bin_dir / tool} is missing; build it first")
        clis = {tool: Cli(bin_dir / tool) for tool in TOOLS if (bin_dir / tool).is_file()}
        check_flags(clis, errors)
        summary.append(f"the flags of {', '.join(sorted(clis))}")
        if not args.no_commands:
            blocks, netns = check_commands(bin_dir, args.verbose, errors)
            summary.append(f"{blocks} command blocks"
                           f"{' (in network namespaces)' if netns else ''}")
    sys.stdout.flush()
    for error in errors:
        print(f"docs-check: {error}", file=sys.stderr)
    sys.stderr.flush()
    took = time.monotonic() - started
    verdict = f"{len(errors)} problem(s)" if errors else "ok"
    print(f"docs-check: {verdict}: {', '.join(summary)} in {took:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
