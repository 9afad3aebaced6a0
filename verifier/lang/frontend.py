"""File to IR in one call: read, parse, lower. Every failure is a list of diagnostics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

from verifier import ir
from verifier.diagnostics import WHOLE_FILE, Diagnostic, Span, SpecError, render, too_deep
from verifier.lang import syntax as s
from verifier.lang.lower import lower_spec_with_scenarios, lower_spec_with_warnings
from verifier.lang.parser import parse_spec
from verifier.lang.scenario import Scenario


@dataclass
class Loaded:
    """A lowered model with the warnings lowering produced, or only diagnostics."""

    path: str
    source: str
    model: ir.Model | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load_text(
    text: str,
    path: str = "<input>",
    consts: Mapping[str, int] | None = None,
    scenarios: bool = True,
) -> Loaded:
    """Parse and lower `.cap` text; its scenarios are checked too (not under `consts`)."""
    try:
        spec = parse_spec(text, path)
        if scenarios and not consts:  # scenarios are written for the spec's own constants
            model, warnings, _ = lower_spec_with_scenarios(spec, consts)
        else:
            model, warnings = lower_spec_with_warnings(spec, consts)
    except SpecError as err:
        return Loaded(path, text, None, list(err.diagnostics))
    except RecursionError:  # lowering reports its own, located; this is the last resort
        return Loaded(path, text, None, [too_deep(Span(1, 1, 1, 1), path)])
    return Loaded(path, text, model, warnings)


def load_file(path: str, consts: Mapping[str, int] | None = None, scenarios: bool = True) -> Loaded:
    """Read, parse and lower a `.cap` file."""
    text = _read_text(path)
    if isinstance(text, Loaded):
        return text
    return load_text(text, path, consts, scenarios)


def _not_utf8(path: str, data: bytes, err: UnicodeDecodeError) -> Loaded:
    """A located `io` diagnostic at the first byte that is not UTF-8."""
    before = data[: err.start].decode("utf-8")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    diag = Diagnostic(
        "io",
        "error",
        f"`{path}` is not UTF-8 text: byte 0x{data[err.start]:02x} cannot start a character here",
        Span.point(line, column),
        "save the file as UTF-8",
        path,
    )
    return Loaded(path, data.decode("utf-8", errors="replace"), None, [diag])


def load_model(path: str, consts: Mapping[str, int] | None = None) -> ir.Model:
    """Like load_file, but raise SpecError instead of returning diagnostics (for tests, tools)."""
    loaded = load_file(path, consts)
    if loaded.model is None:
        raise SpecError(loaded.diagnostics)
    return loaded.model


def load_or_report(path: str, consts: Mapping[str, int] | None, stream: TextIO) -> ir.Model | None:
    """Load the spec at `path`, or write its diagnostics to `stream` and return None."""
    loaded = load_file(path, consts)
    if loaded.model is None:
        for d in loaded.diagnostics:
            stream.write(render(d, loaded.source) + "\n")
    return loaded.model


@dataclass
class Suite:
    """A spec with its scenarios (from the spec itself or a `scenarios for` file)."""

    path: str
    model: ir.Model | None
    scenarios: list[Scenario] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # every file read, by path


def load_suite(path: str, consts: Mapping[str, int] | None = None) -> Suite:
    """Load a spec and its scenarios, or a scenario file and the spec it names."""
    first = _read_text(path)
    if isinstance(first, Loaded):
        return Suite(path, None, [], first.diagnostics, {path: first.source})
    sources = {path: first}
    try:
        parsed = parse_spec(first, path)
        holder = _scenario_file(parsed)
        tests: s.Spec | None = None
        spec = parsed
        if holder is not None:
            spec_path = os.path.join(os.path.dirname(path), holder.spec)
            spec_text = _read_text(spec_path, holder.span, path)
            if isinstance(spec_text, Loaded):
                return Suite(path, None, [], spec_text.diagnostics, sources)
            sources[spec_path] = spec_text
            tests, spec = parsed, parse_spec(spec_text, spec_path)
            _only_scenarios(tests)
        model, warnings, scenarios = lower_spec_with_scenarios(spec, consts, tests)
    except SpecError as err:
        return Suite(path, None, [], list(err.diagnostics), sources)
    except RecursionError:
        return Suite(path, None, [], [too_deep(Span(1, 1, 1, 1), path)], sources)
    return Suite(path, model, scenarios, warnings, sources)


def _scenario_file(spec: s.Spec) -> s.ScenariosFor | None:
    found = [d for d in spec.decls if isinstance(d, s.ScenariosFor)]
    return found[0] if found else None


def _only_scenarios(tests: s.Spec) -> None:
    """A scenario file holds one `scenarios for` line and scenarios, nothing else."""
    stray = [d for d in tests.decls if not isinstance(d, s.ScenarioDecl | s.ScenariosFor)]
    extra = [d for d in tests.decls if isinstance(d, s.ScenariosFor)][1:]
    bad = [*([tests.header] if tests.header else []), *stray, *extra]
    if bad:
        raise SpecError(
            [
                Diagnostic(
                    "bad-scenario",
                    "error",
                    "a scenario file holds one `scenarios for` line and scenarios only",
                    bad[0].span,
                    "declare this in the spec itself",
                    tests.path,
                )
            ]
        )


def _read_text(path: str, span: Span = WHOLE_FILE, origin: str | None = None) -> str | Loaded:
    """The UTF-8 text of `path`, or a Loaded carrying the `io` diagnostic."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        reason = err.strerror or str(err)
        diag = Diagnostic(
            "io", "error", f"cannot read `{path}`: {reason}", span, None, origin or path
        )
        return Loaded(path, "", None, [diag])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        return _not_utf8(path, data, err)


def specs_under(folder: str, scenario_files: bool = False) -> list[str]:
    """The `.cap` files below `folder`, sorted; `*.test.cap` scenario files only if asked."""
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.endswith(".cap") and (scenario_files or not name.endswith(".test.cap"))
    )
