"""The step of the `verifier check` GitHub Action (action.yml): check, write reports, set outputs.

Reads its inputs from INPUT_* variables; writes `exit-code`, `verdict`, `sarif` and `junit` to
$GITHUB_OUTPUT, VERIFIER_VERDICT and VERIFIER_SARIF to $GITHUB_ENV (for later steps) and a
summary to $GITHUB_STEP_SUMMARY, each only when set. Needs only Python and verifier[check].
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence

VERDICTS = {0: "proved", 1: "violated", 2: "invalid", 3: "inconclusive"}
# the console script beside this interpreter: `python -m verifier` would put the working
# directory (the user's repository) first on the import path
VERIFIER = [os.path.join(os.path.dirname(sys.executable), "verifier"), "check"]


class InputError(Exception):
    """An action input that cannot be used."""


def inputs(env: Mapping[str, str]) -> tuple[list[str], list[str], str, str, bool]:
    """paths, extra options, SARIF file, JUnit file and whether to fail, validated."""
    try:
        paths = shlex.split(env.get("INPUT_PATHS", ".")) or ["."]
        args = shlex.split(env.get("INPUT_ARGS", ""))
    except ValueError as err:
        raise InputError(f"cannot split the inputs `paths` or `args`: {err}") from None
    fail = env.get("INPUT_FAIL", "true").strip().lower()
    if fail not in ("true", "false"):
        raise InputError(f"input `fail` must be `true` or `false`, not `{fail}`")
    sarif, junit = env.get("INPUT_SARIF", "").strip(), env.get("INPUT_JUNIT", "").strip()
    if any("\n" in value for value in (*paths, sarif, junit)):
        raise InputError("paths and report files must not contain line breaks")
    if any(a == "--format" or a.startswith("--format=") for a in args):
        raise InputError("input `args` must not set `--format`: use the `sarif` and `junit` inputs")
    return paths, args, sarif, junit, fail == "true"


def report(fmt: str, args: Sequence[str], paths: Sequence[str], target: str) -> None:
    """Run the check again in `fmt` and write its standard output to `target`."""
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}  # annotate only once
    done = subprocess.run(
        [*VERIFIER, "--format", fmt, *args, *paths], capture_output=True, text=True, env=env
    )
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(done.stdout)
    sys.stderr.write(done.stderr)


def append(variable: str, lines: Sequence[str]) -> None:
    """Append `lines` to the file named by environment `variable`, if it is set."""
    path = os.environ.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)


def summary(verdict: str, code: int, sarif: str) -> list[str]:
    """Markdown for the job summary: the verdict and, from the SARIF report, each finding."""
    lines = [f"### verifier check: {verdict} (exit {code})", ""]
    if not sarif or not os.path.exists(sarif):
        return lines
    try:
        with open(sarif, encoding="utf-8") as fh:
            results = json.load(fh)["runs"][0]["results"]
    except (OSError, ValueError, KeyError, IndexError):
        return [*lines, "(the SARIF report could not be read)"]
    for r in results:
        where = r["locations"][0]["physicalLocation"]
        line = where.get("region", {}).get("startLine")
        place = where["artifactLocation"]["uri"] + (f":{line}" if line else "")
        lines.append(f"- **{r['level']}** `{place}`: {r['message']['text'].splitlines()[0]}")
    return lines


def main() -> int:
    try:
        paths, args, sarif, junit, fail = inputs(os.environ)
    except InputError as err:
        print(f"::error title=verifier action::{err}", file=sys.stderr)
        return 2
    code = subprocess.call([*VERIFIER, *args, *paths])  # the text report, and the annotations
    if sarif:
        report("sarif", args, paths, sarif)
    if junit:
        report("junit", args, paths, junit)
    verdict = VERDICTS.get(code, "invalid")
    outputs = {"exit-code": str(code), "verdict": verdict, "sarif": sarif, "junit": junit}
    append("GITHUB_OUTPUT", [f"{k}={v}" for k, v in outputs.items()])
    append("GITHUB_ENV", [f"VERIFIER_VERDICT={verdict}", f"VERIFIER_SARIF={sarif}"])
    append("GITHUB_STEP_SUMMARY", summary(verdict, code, sarif))
    return code if fail else 0


if __name__ == "__main__":
    sys.exit(main())
