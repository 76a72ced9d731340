"""Mutation testing of ddpm_theory's numeric/, backend/ and audit/ packages with mutmut 3.

Each package named in mutation/targets.toml is run in its own scratch copy of the repository
(build/mutation/PACKAGE): mutmut plants one error at a time (a flipped operator, a changed
constant, a dropped argument) in the package's functions and runs the tests that reach the
mutated function; a mutant the tests reject is *killed*. The score of a package is

    (killed + timeout) / (all mutants - equivalent ones)

where an *equivalent* mutant is one that no test can kill because it does not change what the
code computes; mutation/equivalent/*.toml lists each with its reason, keyed by a description
of the mutation (file, function, line before -> line after) that stays stable when the code
around it changes. Mutants that only mark the literal text of an error message with XX at both
ends are recognised by rule (*message text*, mutation/equivalent/README.md) and also left out.
The script prints the score of each package, the surviving mutants with their keys, and
exits non-zero when a package scores below its threshold.

    python mutation/run.py                 # every package, fresh
    python mutation/run.py numeric         # one package
    python mutation/run.py backend.schedule  # one unit of a package (targets.toml)
    python mutation/run.py numeric --reuse # keep the previous results of unchanged code
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
SCRATCH = ROOT / "build" / "mutation"

# mutmut's exit codes, grouped into the four outcomes reported
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
UNDETECTED = {"survived", "no tests"}
STATUS_BY_EXIT_CODE = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
    36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
    37: "caught by type check", -11: "segfault", -9: "segfault",
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    name: str
    status: str
    key: str = ""
    diff: str = ""
    path: str = ""


@dataclass
class Score:
    package: str
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0
    threshold: float = 0.95

    @property
    def considered(self) -> int:
        excluded = ("equivalent", "message text", "skipped", "not checked")
        return sum(self.counts.values()) - sum(self.counts[status] for status in excluded)

    @property
    def detected(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DETECTED)

    @property
    def score(self) -> float:
        return self.detected / self.considered if self.considered else 1.0


# ----------------------------------------------------------------------------- preparing


def load_targets() -> dict[str, Any]:
    with open(HERE / "targets.toml", "rb") as f:
        return tomllib.load(f)


def copy_repository(scratch: Path, items: list[str]) -> None:
    """Copy the repository's ITEMS into SCRATCH, keeping modification times (so that
    mutmut, on --reuse, sees unchanged sources as unchanged)."""
    ignore = shutil.ignore_patterns("__pycache__", "_build", "_generated", ".hypothesis")
    for item in items:
        source, target = ROOT / item, scratch / item
        if target.is_dir():
            shutil.rmtree(target)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore, symlinks=False)
        else:
            shutil.copy2(source, target)


def write_mutmut_config(scratch: Path, package: dict[str, Any], settings: dict[str, Any]) -> None:
    def listing(values: list[str]) -> str:
        return "".join(f"\n    {v}" for v in values)

    selection = list(package["tests"]) + [f"--deselect={t}" for t in package.get("deselect", [])]
    text = (
        "[mutmut]\n"
        "source_paths = ddpm_theory\n"
        f"only_mutate ={listing(package['mutate'])}\n"
        f"pytest_add_cli_args_test_selection ={listing(selection)}\n"
        f"pytest_add_cli_args ={listing(['-p', 'no:cacheprovider'])}\n"
        f"timeout_multiplier = {settings['timeout_multiplier']}\n"
        f"timeout_constant = {settings['timeout_constant']}\n"
        "use_git_change_detection = false\n"
    )
    (scratch / "setup.cfg").write_text(text)


def mutmut_environment() -> dict[str, str]:
    env = dict(os.environ)
    # the tests must import the mutated copy that mutmut puts first on sys.path
    env.pop("PYTHONPATH", None)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CI="true")
    return env


def run_mutmut(scratch: Path, max_children: int, mutants: list[str]) -> None:
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
    command = [mutmut, "run", f"--max-children={max_children}", *mutants]
    log = scratch / "mutmut.log"
    with open(log, "w") as out:
        done = subprocess.run(command, cwd=scratch, env=mutmut_environment(), stdout=out,
                              stderr=subprocess.STDOUT, check=False)  # fmt: skip
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"mutmut failed in {scratch} (exit {done.returncode}):\n{tail}")


# ----------------------------------------------------------------------------- collecting


def collect_in_scratch() -> None:
    """Print, as JSON, every mutant of this scratch copy with its status and its diff. Runs
    with the scratch copy as working directory."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    found = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        path = meta.relative_to("mutants").with_suffix("")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            status = STATUS_BY_EXIT_CODE.get(code, "not checked" if code is None else "suspicious")
            # every mutant's diff, so that identical mutations of one function are numbered
            # in source order whatever their status (the keys stay stable)
            diff = get_diff_for_mutant(name, path=path)
            found.append({"name": name, "status": status, "path": str(path), "diff": diff})
    json.dump(found, sys.stdout)


def function_of(name: str) -> str:
    """'ddpm_theory.m.xǁKlassǁmethod__mutmut_3' -> 'Klass.method'; 'ddpm_theory.m.x_f__mutmut_1'
    -> 'f'."""
    local = re.sub(r"__mutmut_\d+$", "", name).rsplit(".", 1)[-1]
    if local.startswith("xǁ"):
        return local[2:].replace("ǁ", ".")
    return local.removeprefix("x_")


def _mutant_number(name: str) -> tuple[str, int]:
    """('function', n) of 'module.x_function__mutmut_n', for ordering in the source."""
    head, _, number = name.rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def stable_key(path: str, name: str, diff: str) -> str:
    """FILE::FUNCTION: removed line(s) => added line(s), whitespace collapsed."""

    def lines(sign: str) -> str:
        picked = [
            " ".join(line[1:].split())
            for line in diff.splitlines()
            if line.startswith(sign) and not line.startswith(sign * 3)
        ]
        return " | ".join(picked)

    return f"{path}::{function_of(name)}: {lines('-')} => {lines('+')}"


def collect(scratch: Path) -> list[Mutant]:
    command = [sys.executable, str(Path(__file__).resolve()), "--collect-in-scratch"]
    done = subprocess.run(command, cwd=scratch, env=mutmut_environment(), capture_output=True,
                          text=True, check=True)  # fmt: skip
    mutants: list[Mutant] = []
    seen: Counter[str] = Counter()
    entries = json.loads(done.stdout)
    entries.sort(key=lambda e: (e["path"], _mutant_number(e["name"])))
    for entry in entries:
        key = ""
        if entry["diff"]:
            key = stable_key(entry["path"], entry["name"], entry["diff"])
            seen[key] += 1
            key = key if seen[key] == 1 else f"{key} #{seen[key]}"
        mutants.append(Mutant(entry["name"], entry["status"], key, entry["diff"], entry["path"]))
    return mutants


def load_equivalent() -> dict[str, str]:
    reasons: dict[str, str] = {}
    for path in sorted((HERE / "equivalent").glob("*.toml")):
        with open(path, "rb") as f:
            for entry in tomllib.load(f).get("mutant", []):
                if entry["key"] in reasons:
                    raise SystemExit(f"{path.name}: {entry['key']!r} is listed twice")
                reasons[entry["key"]] = entry["reason"]
    return reasons


# ----------------------------------------------------------------------------- message text


@cache
def message_lines(path: str, function: str) -> frozenset[str]:
    """The lines (whitespace collapsed) of FUNCTION's raise statements and warnings.warn
    calls in the repository's source of PATH."""
    source = (ROOT / path).read_text()
    lines = source.splitlines()
    scope: list[ast.AST] = [ast.parse(source)]
    for part in function.split("."):
        scope = [
            node for parent in scope for node in ast.iter_child_nodes(parent)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.name == part
        ]  # fmt: skip
    found: set[str] = set()
    for node in (n for top in scope for n in ast.walk(top) if isinstance(n, (ast.Raise, ast.Call))):
        is_warn = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr == "warn")  # fmt: skip
        if isinstance(node, ast.Raise) or is_warn:
            end = node.end_lineno or node.lineno
            found.update(" ".join(lines[i - 1].split()) for i in range(node.lineno, end + 1))
    return frozenset(found)


def _tokens(line: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
                out.append((token.type, token.string))
    except (tokenize.TokenError, IndentationError):
        pass  # a line of a statement that continues: the tokens read so far
    return out


def _same_words(old: str, new: str) -> bool:
    """NEW is the string literal OLD marked with XX inside its quotes (every word kept; a
    change of letter case is not: it can turn a symbol such as T into t)."""
    quote = min(i for i in (old.find('"'), old.find("'")) if i >= 0)
    if old[:quote].lower() not in ("", "r", "b", "rb", "br"):
        return False  # an f-string: its expressions are code, not text
    marked = old[: quote + 1] + "XX" + old[quote + 1 : -1] + "XX" + old[-1]
    return new == marked


def is_message_text(path: str, name: str, diff: str) -> bool:
    """The mutant only XX-marks one string literal of an error message or a warning
    (mutation/equivalent/README.md)."""
    lines = diff.splitlines()
    removed = [line[1:] for line in lines if line[:1] == "-" and line[:3] != "---"]
    added = [line[1:] for line in lines if line[:1] == "+" and line[:3] != "+++"]
    if len(removed) != 1 or len(added) != 1:
        return False
    if " ".join(removed[0].split()) not in message_lines(path, function_of(name)):
        return False
    before, after = _tokens(removed[0].strip()), _tokens(added[0].strip())
    if len(before) != len(after):
        return False
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    return (len(changed) == 1 and changed[0][0][0] == changed[0][1][0] == tokenize.STRING
            and _same_words(changed[0][0][1], changed[0][1][1]))  # fmt: skip


def score_package(name: str, mutants: list[Mutant], equivalent: dict[str, str]) -> Score:
    score = Score(name)
    for mutant in mutants:
        status = mutant.status
        if status in UNDETECTED and mutant.key in equivalent:
            status = "equivalent"
        elif status in UNDETECTED and is_message_text(mutant.path, mutant.name, mutant.diff):
            status = "message text"
        elif status in UNDETECTED or status == "suspicious":
            score.survivors.append(mutant)
        score.counts[status] += 1
    return score


# ----------------------------------------------------------------------------- reporting


def print_survivors(score: Score, show_diffs: bool) -> None:
    for mutant in sorted(score.survivors, key=lambda m: m.key):
        print(f"  [{mutant.status}] {mutant.name}")
        print(f"      key = {json.dumps(mutant.key, ensure_ascii=False)}")
        if show_diffs:
            print("      " + mutant.diff.replace("\n", "\n      "))


def print_table(scores: list[Score]) -> None:
    header = ("package", "mutants", "killed", "timeout", "survived", "no tests", "equivalent",
              "message", "unchecked", "score", "threshold", "minutes")  # fmt: skip
    print("  ".join(f"{h:>10}" for h in header))
    for s in scores:
        c = s.counts
        row = (s.package, sum(c.values()), c["killed"], c["timeout"], c["survived"],
               c["no tests"], c["equivalent"], c["message text"], c["not checked"],
               f"{100 * s.score:.1f}%", f"{100 * s.threshold:.0f}%",
               f"{s.seconds / 60:.1f}")  # fmt: skip
        print("  ".join(f"{v:>10}" for v in row))


def stale_equivalents(scores: list[Score], keys: dict[str, str], mutants: set[str]) -> list[str]:
    """Keys of mutation/equivalent/ that match no mutant of the packages run (the code changed):
    reported so that the list does not silently excuse mutants that no longer exist."""
    packages = {f"ddpm_theory/{s.package}/" for s in scores}
    return [k for k in keys if any(k.startswith(p) for p in packages) and k not in mutants]


# ----------------------------------------------------------------------------- main


def run_unit(name: str, unit: dict[str, Any], settings: dict[str, Any],
             args: argparse.Namespace) -> list[Mutant]:  # fmt: skip
    """One mutmut run over the modules of UNIT with its tests, in build/mutation/NAME."""
    scratch = SCRATCH / name
    if not args.reuse and scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    copy_repository(scratch, settings["copy"])
    write_mutmut_config(scratch, unit, settings)
    print(f"== {name}: mutating {', '.join(unit['mutate'])}", flush=True)
    if not args.collect_only:
        run_mutmut(scratch, args.max_children, args.mutants)
    return collect(scratch)


def run_package(
    name: str, targets: dict[str, Any], args: argparse.Namespace
) -> tuple[Score, set[str]]:
    package = targets["package"][name]
    start, mutants = time.perf_counter(), []
    for unit_name, unit in package["unit"].items():
        if args.units and f"{name}.{unit_name}" not in args.units:
            continue
        mutants += run_unit(f"{name}/{unit_name}", unit, targets["settings"], args)
    score = score_package(name, mutants, load_equivalent())
    score.seconds, score.threshold = time.perf_counter() - start, package["threshold"]
    print_survivors(score, args.diffs)
    return score, {m.key for m in mutants if m.status in UNDETECTED}


def parse_arguments(packages: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*",
                        help=f"some of {', '.join(packages)} (all), or PACKAGE.UNIT")  # fmt: skip
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reuse", action="store_true", help="keep results of unchanged code")
    parser.add_argument("--collect-only", action="store_true", help="report the last run")
    parser.add_argument("--mutants", nargs="*", default=[], help="rerun only these mutants")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's diff")
    parser.add_argument("--collect-in-scratch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.units = [p for p in args.packages if "." in p]
    chosen = list(dict.fromkeys(p.split(".")[0] for p in args.packages))
    unknown = set(chosen) - set(packages)
    if unknown:
        parser.error(f"unknown package(s) {sorted(unknown)}; mutation/targets.toml has {packages}")
    args.packages = chosen or packages
    return args


def main() -> int:
    targets = load_targets()
    args = parse_arguments(list(targets["package"]))
    if args.collect_in_scratch:
        collect_in_scratch()
        return 0
    if importlib.util.find_spec("mutmut") is None:
        raise SystemExit(
            f"mutmut is not installed for {sys.executable}: install the project's mutation "
            "extra (pip install -e '.[mutation]') or run `tox -e mutation`."
        )
    if args.mutants or args.collect_only:
        args.reuse = True
    scores, keys = [], set()
    for name in args.packages:
        score, package_keys = run_package(name, targets, args)
        scores.append(score)
        keys |= package_keys
    print()
    print_table(scores)
    stale = [] if args.units else stale_equivalents(scores, load_equivalent(), keys)
    for key in stale:
        print(f"warning: mutation/equivalent/ names a mutant that no longer survives: {key}")
    failing = [s.package for s in scores if s.score < s.threshold or s.counts["not checked"]]
    if failing:
        print(f"mutation score below the threshold, or mutants unchecked: {', '.join(failing)}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
