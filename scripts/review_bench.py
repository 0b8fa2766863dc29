"""Scores `ferrocodex review` and reference checkers on the planted-bug corpus, and times
them on a folder of Python code (the standard library).

Accuracy (writes a Markdown table on stdout):

    python3 scripts/review_bench.py accuracy \
        --ferrocodex "target/release/examples/review --json" \
        --tools /path/to/venv/bin --pyright /path/to/node_modules/.bin/pyright

Each corpus file marks its planted bug with `# expect: CODE` on the line the finding belongs
to; files named clean_* have none. Other tools' diagnostic codes are mapped onto our rule
codes (table MAPPING below, from REFERENCE.md); their diagnostics that map to none of our
rules are ignored. A finding is a true positive when a file has an expectation of the same
rule on the same line; every other mapped finding is a false positive.

Speed:

    python3 scripts/review_bench.py speed --ferrocodex "..." --tools VENV_BIN DIR
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict

RULES = {
    "FCR001": "undefined-name", "FCR002": "possibly-unbound", "FCR003": "call-arguments",
    "FCR004": "argument-type", "FCR005": "unsupported-operand", "FCR006": "unknown-attribute",
    "FCR007": "not-callable", "FCR008": "return-type", "FCR009": "unreachable-code",
    "FCR010": "mutable-default", "FCR011": "is-literal", "FCR012": "missing-await",
    "FCR013": "unused-import", "FCR014": "unused-variable", "FCR015": "bare-except",
}

MAPPING = {
    "mypy": {
        "name-defined": "FCR001", "possibly-undefined": "FCR002", "used-before-def": "FCR002",
        "call-arg": "FCR003", "arg-type": "FCR004", "operator": "FCR005", "attr-defined": "FCR006",
        "union-attr": "FCR006", "return-value": "FCR008", "unreachable": "FCR009",
        "unused-coroutine": "FCR012",
    },
    "pyright": {
        "reportUndefinedVariable": "FCR001", "reportPossiblyUnbound": "FCR002",
        "reportPossiblyUnboundVariable": "FCR002", "reportCallIssue": "FCR003",
        "reportArgumentType": "FCR004", "reportOperatorIssue": "FCR005",
        "reportOptionalOperand": "FCR005", "reportAttributeAccessIssue": "FCR006",
        "reportOptionalMemberAccess": "FCR006", "reportOptionalCall": "FCR007",
        "reportReturnType": "FCR008", "reportUnusedCoroutine": "FCR012",
        "reportUnusedImport": "FCR013", "reportUnusedVariable": "FCR014",
    },
    "ty": {
        "unresolved-reference": "FCR001", "possibly-unresolved-reference": "FCR002",
        "missing-argument": "FCR003", "too-many-positional-arguments": "FCR003",
        "unknown-argument": "FCR003", "parameter-already-assigned": "FCR003",
        "invalid-argument-type": "FCR004", "unsupported-operator": "FCR005",
        "unresolved-attribute": "FCR006", "possibly-missing-attribute": "FCR006",
        "missing-union-attribute": "FCR006", "missing-attribute": "FCR006",
        "call-non-callable": "FCR007", "invalid-return-type": "FCR008",
        "invalid-explicit-return": "FCR008", "unused-coroutine": "FCR012", "unused-awaitable": "FCR012",
    },
    "pyrefly": {
        "unknown-name": "FCR001", "unbound-name": "FCR002", "missing-argument": "FCR003",
        "bad-argument-count": "FCR003", "unexpected-keyword": "FCR003",
        "bad-argument-type": "FCR004", "unsupported-operation": "FCR005",
        "missing-attribute": "FCR006", "not-callable": "FCR007", "bad-return": "FCR008",
        "unused-coroutine": "FCR012", "unreachable": "FCR009",
    },
    "ruff": {
        "F821": "FCR001", "F401": "FCR013", "F841": "FCR014", "E722": "FCR015", "F632": "FCR011",
        "B006": "FCR010",
    },
}


def run(cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return proc.stdout + "\n" + proc.stderr


def refine(tool, code, message):
    """Codes that cover two of our rules, split by message."""
    if "not callable" in message:
        return "FCR007"
    return MAPPING[tool].get(code)


def findings_ferrocodex(cmd, files):
    out = subprocess.run(shlex.split(cmd) + files, capture_output=True, text=True).stdout
    doc = json.loads(out[out.index("{"):])
    return [(os.path.basename(f["path"]), f["start"]["line"], f["code"]) for f in doc["findings"]]


def findings_mypy(bin_dir, files):
    text = run([os.path.join(bin_dir, "mypy"), "--no-error-summary", "--show-column-numbers",
                "--show-error-codes", "--no-incremental", "--cache-dir=/dev/null",
                "--follow-imports=silent"] + files)
    out = []
    for line in text.splitlines():
        m = re.match(r"(.+?):(\d+):(\d+): error: (.*)  \[([a-z-]+)\]$", line)
        if m:
            out.append((os.path.basename(m[1]), int(m[2]), refine("mypy", m[5], m[4])))
    return out


def findings_pyright(pyright, files):
    text = run([pyright, "--outputjson"] + files)
    doc = json.loads(text[text.index("{"):text.rindex("}") + 1])
    out = []
    for d in doc.get("generalDiagnostics", []):
        rule = d.get("rule", "")
        out.append((os.path.basename(d["file"]), d["range"]["start"]["line"] + 1, refine("pyright", rule, d["message"])))
    return out


def findings_ty(bin_dir, files):
    text = run([os.path.join(bin_dir, "ty"), "check", "--output-format", "concise"] + files)
    out = []
    for line in text.splitlines():
        m = re.match(r"(.+?):(\d+):(\d+): (?:error|warning)\[([a-z-]+)\] (.*)$", line)
        if m:
            out.append((os.path.basename(m[1]), int(m[2]), refine("ty", m[4], m[5])))
    return out


def findings_pyrefly(bin_dir, files):
    text = run([os.path.join(bin_dir, "pyrefly"), "check", "--preset", "default", "--output-format", "min-text"] + files)
    out = []
    for line in text.splitlines():
        m = re.match(r"(?:ERROR|WARN) (.+?):(\d+):[\d-]+: (.*) \[([a-z-]+)\]$", line)
        if m:
            out.append((os.path.basename(m[1]), int(m[2]), refine("pyrefly", m[4], m[3])))
    return out


def findings_ruff(bin_dir, files):
    text = run([os.path.join(bin_dir, "ruff"), "check", "--no-cache", "--isolated", "--select", "F,E722,B006",
                "--output-format", "json"] + files)
    doc = json.loads(text[text.index("["):text.rindex("]") + 1])
    return [(os.path.basename(d["filename"]), d["location"]["row"], MAPPING["ruff"].get(d["code"] or "")) for d in doc]


def expectations(corpus):
    expected = set()
    files = []
    for name in sorted(os.listdir(corpus)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(corpus, name)
        files.append(path)
        with open(path) as f:
            for i, line in enumerate(f, 1):
                m = re.search(r"# expect: (FCR\d{3})", line)
                if m:
                    expected.add((name, i, m[1]))
    return files, expected


TY_TO_RULE = MAPPING["ty"]
WILDCARD_LINES = set()
# ty codes that stand for either FCR003 (call-arguments) or FCR004 (argument-type).
SPLIT_CODES = {"no-matching-overload"}


def extract_mdtests(md_root, out_dir):
    """Writes each section of ty's markdown tests (`resources/mdtest` of the ty_python_semantic
    crate) that is a single Python snippet to its own file, and returns the expectations its
    `# error: [code]` comments give, mapped onto our rules. Sections with several files, stubs
    or configuration are left out."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    expected = set()
    files = []
    for root, _, names in os.walk(md_root):
        for name in sorted(names):
            if not name.endswith(".md"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, md_root)[:-3].replace(os.sep, "__").replace("-", "_")
            with open(path) as f:
                text = f.read()
            sections = []  # each: list of (label line, language, body)
            current, fence, label, last = [], None, "", ""
            for line in text.split("\n"):
                if fence is None:
                    if re.match(r"^#+ ", line):
                        sections.append(current)
                        current = []
                    elif line.startswith("```"):
                        fence = (line[3:].strip() or "text", last, [])
                    elif line.strip():
                        last = line
                else:
                    if line.startswith("```"):
                        current.append((fence[1], fence[0], "\n".join(fence[2])))
                        fence, last = None, ""
                    else:
                        fence[2].append(line)
            sections.append(current)
            for i, blocks in enumerate(sections):
                if not blocks:
                    continue
                if any(lang not in ("py", "python") for _, lang, _ in blocks):
                    continue
                if any(re.match(r"^`[^`]+`:", label.strip()) for label, _, _ in blocks):
                    continue
                code = "\n".join(body for _, _, body in blocks) + "\n"
                fname = f"md_{rel}_{i:03d}.py"
                with open(os.path.join(out_dir, fname), "w") as f:
                    f.write(code)
                files.append(os.path.join(out_dir, fname))
                lines = code.split("\n")
                for n, line in enumerate(lines, 1):
                    m = re.search(r"# error:(.*)$", line)
                    if not m:
                        continue
                    target = n
                    if line.strip().startswith("#"):
                        # An assertion on a line of its own applies to the next code line.
                        target = next((k for k in range(n + 1, len(lines) + 1)
                                       if lines[k - 1].strip() and not lines[k - 1].strip().startswith("#")), n)
                    codes = re.findall(r"\[([a-z-]+)\]", m[1])
                    if not codes or any(c in SPLIT_CODES for c in codes):
                        # An assertion with only a message: some error is expected there, of
                        # an unnamed kind. Or a code that covers two of our rules without
                        # saying which (`no-matching-overload`: a call that fits no overload,
                        # by its arity or by its types). Findings on that line are not scored
                        # either way.
                        WILDCARD_LINES.add((fname, target))
                    for code_name in codes:
                        rule = TY_TO_RULE.get(code_name)
                        if rule:
                            expected.add((fname, target, rule))
    return sorted(files), expected


def score(found, expected):
    found = {f for f in found if f[2] in RULES}
    tp = found & expected
    fp = found - expected
    per_rule = defaultdict(lambda: [0, 0])
    for (_, _, rule) in expected:
        per_rule[rule][1] += 1
    for (_, _, rule) in tp:
        per_rule[rule][0] += 1
    return len(tp), len(fp), per_rule, sorted(fp)


def accuracy(args):
    if args.mdtest:
        files, expected = extract_mdtests(args.mdtest, os.path.join("/tmp", "review_bench_mdtest"))
    else:
        files, expected = expectations(args.corpus)
    tools = {"ferrocodex": lambda: findings_ferrocodex(args.ferrocodex, files)}
    if args.tools:
        tools["mypy"] = lambda: findings_mypy(args.tools, files)
        tools["ty"] = lambda: findings_ty(args.tools, files)
        tools["pyrefly"] = lambda: findings_pyrefly(args.tools, files)
        tools["ruff"] = lambda: findings_ruff(args.tools, files)
    if args.pyright:
        tools["pyright"] = lambda: findings_pyright(args.pyright, files)
    results = {}
    for name, get in tools.items():
        t0 = time.time()
        found = get()
        if args.mdtest:
            # ty's tests only make claims about ty's rules: findings of our other rules
            # (unused imports, unreachable code, ...) cannot be judged there.
            found = [f for f in found if f[2] in set(MAPPING["ty"].values()) and (f[0], f[1]) not in WILDCARD_LINES]
        tp, fp, per_rule, fps = score(found, expected)
        results[name] = (tp, fp, per_rule, time.time() - t0)
        if args.verbose:
            for f in fps:
                print(f"  {name} false positive: {f}", file=sys.stderr)
            missed = sorted(expected - {x for x in found})
            for m in missed:
                print(f"  {name} missed: {m}", file=sys.stderr)
    names = list(results)
    if args.mdtest:
        print(f"ty markdown tests: {len(files)} single-file sections, {len(expected)} expected errors of our rules.\n")
    else:
        print(f"Planted-bug corpus: {len(files)} files, {len(expected)} planted bugs, "
              f"{sum(1 for f in files if os.path.basename(f).startswith('clean_'))} clean files.\n")
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    print("| true positives | " + " | ".join(str(results[n][0]) for n in names) + " |")
    print("| false positives | " + " | ".join(str(results[n][1]) for n in names) + " |")
    print("| precision | " + " | ".join(
        f"{results[n][0] / (results[n][0] + results[n][1]):.3f}" if results[n][0] + results[n][1] else "–" for n in names) + " |")
    print("| recall (all planted bugs) | " + " | ".join(f"{results[n][0] / len(expected):.3f}" for n in names) + " |")
    print("| time (s) | " + " | ".join(f"{results[n][3]:.2f}" for n in names) + " |")
    print()
    print("Recall per rule (found / planted); `n/a` where the tool has no matching check:\n")
    print("| rule | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for code, rule in RULES.items():
        cells = []
        for n in names:
            found, total = results[n][2].get(code, [0, 0])
            covers = n == "ferrocodex" or code in MAPPING.get(n, {}).values() or (code == "FCR007" and n == "mypy")
            cells.append(f"{found}/{total}" if covers else "n/a")
        print(f"| {code} {rule} | " + " | ".join(cells) + " |")


def python_files(folder):
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in ("test", "tests", "site-packages", "__pycache__")]
        out.extend(os.path.join(root, f) for f in files if f.endswith(".py"))
    return sorted(out)


def speed(args):
    files = python_files(args.folder)
    lines = 0
    for f in files:
        with open(f, "rb") as h:
            lines += h.read().count(b"\n")
    print(f"{len(files)} files, {lines} lines under {args.folder} (test folders and site-packages left out)")
    # mypy refuses to check files that shadow standard-library modules, so every tool reads
    # the same files copied under a package of another name.
    copy_root = os.path.join("/tmp", "review_bench_copy")
    shutil.rmtree(copy_root, ignore_errors=True)
    package = os.path.join(copy_root, "pylib")
    copied = []
    for f in files:
        dest = os.path.join(package, os.path.relpath(f, args.folder))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(f, dest)
        copied.append(dest)
    with open(os.path.join(package, "__init__.py"), "a"):
        pass
    files = copied
    listing = os.path.join("/tmp", "review_bench_files.txt")
    with open(listing, "w") as h:
        h.write("\n".join(files))

    def timed(name, cmd, repeat=3):
        """Best wall time of `repeat` runs, with the CPU time (user + system) of that run: on
        a shared machine the CPU time shows how much of the wall time was spent waiting."""
        best = None
        for _ in range(repeat):
            before = os.times()
            t0 = time.time()
            subprocess.run(cmd, capture_output=True)
            dt = time.time() - t0
            after = os.times()
            cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
            if best is None or dt < best[0]:
                best = (dt, cpu)
        wall, cpu = best
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {lines / wall:,.0f} lines/s |")

    print("| tool | wall time (best of runs) | CPU time (user+sys) | lines/s (wall) |")
    print("|---|---|---|---|")
    timed("ferrocodex review (2 threads)", shlex.split(args.ferrocodex) + ["--jobs", "2"] + files)
    if args.tools:
        timed("ruff check --select F (pyflakes rules)",
              [os.path.join(args.tools, "ruff"), "check", "--no-cache", "--isolated", "--select", "F", "--exit-zero"] + files)
        timed("ty check", [os.path.join(args.tools, "ty"), "check", "--exit-zero"] + files, repeat=1)
        timed("mypy (no cache)", [os.path.join(args.tools, "mypy"), "--no-incremental", "--cache-dir=/dev/null",
                                  "--follow-imports=silent", "--no-error-summary"] + files, repeat=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--corpus", default=os.path.join("crates", "analysis", "corpus"))
    a.add_argument("--mdtest", help="score on ty's markdown tests instead: the crate's resources/mdtest folder")
    a.add_argument("--ferrocodex", required=True, help="command printing ferrocodex's JSON report for the files appended")
    a.add_argument("--tools", help="folder with mypy, ty, pyrefly, ruff executables")
    a.add_argument("--pyright", help="path to the pyright executable")
    a.add_argument("-v", "--verbose", action="store_true")
    s = sub.add_parser("speed")
    s.add_argument("folder")
    s.add_argument("--ferrocodex", required=True)
    s.add_argument("--tools")
    args = parser.parse_args()
    accuracy(args) if args.command == "accuracy" else speed(args)


if __name__ == "__main__":
    main()
