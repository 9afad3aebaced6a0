"""A pytest plugin: `.cap` specs as test items, passing exactly when `verifier check` proves them.

Opt in with the ini option `verifier_specs` (fnmatch patterns of paths relative to the root
directory, one a line; a `*` also crosses folders), for example in pyproject.toml:

    [tool.pytest.ini_options]
    testpaths = ["tests", "models"]
    verifier_specs = ["models/*.cap"]

Each matching spec (in a folder pytest collects) is one item, `PATH::check`: it passes when
every property is proved and fails otherwise (violated, inconclusive or invalid, as exit
statuses 1, 3 and 2 of `verifier check`), its failure text being the rendered report with the
shortest counterexample. Each scenario the spec declares is one more item,
`PATH::scenario NAME`, run through the guard's decision code as `verifier test` runs it; its
failure text names the first step that did not get the expected verdict. Other plugins add
more items per spec through the hook `pytest_verifier_collect_spec`.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ENGINE_INI = "verifier_engine"
SPECS_INI = "verifier_specs"


class Hooks:
    """The hook this plugin adds to pytest."""

    @pytest.hookspec
    def pytest_verifier_collect_spec(self, spec: SpecFile) -> list[pytest.Item] | None:
        """Further items for one collected spec (after its `check` item); None for none."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SPECS_INI,
        type="linelist",
        default=[],
        help="verifier: fnmatch patterns of .cap specs to collect as tests (none by default)",
    )
    parser.addini(
        ENGINE_INI, default="auto", help="verifier: the engine that checks collected specs"
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getini(SPECS_INI):
        return
    from verifier.check.dispatch import ENGINES  # no solver, parser or NumPy behind this

    engine = str(config.getini(ENGINE_INI))
    if engine not in ENGINES:
        raise pytest.UsageError(
            f"`{ENGINE_INI} = {engine}` is not an engine; hint: one of {', '.join(ENGINES)}"
        )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    patterns: list[str] = parent.config.getini(SPECS_INI)
    if not patterns or file_path.suffix != ".cap":
        return None
    try:
        where = file_path.relative_to(parent.config.rootpath).as_posix()
    except ValueError:
        where = file_path.as_posix()
    if not any(fnmatch.fnmatchcase(where, p) for p in patterns):
        return None
    spec: SpecFile = SpecFile.from_parent(parent, path=file_path)
    return spec


def _shown(path: Path) -> str:
    """The path relative to the working directory, as `verifier check` would be given it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


class SpecFailure(Exception):
    """A spec that `verifier check` does not prove; the message is the rendered report."""


class SpecFile(pytest.File):
    """One `.cap` file: its `check` item, then any item other plugins add for it."""

    def collect(self) -> Iterator[pytest.Item]:
        yield SpecItem.from_parent(self, name="check")
        yield from _scenario_items(self)
        for items in self.ihook.pytest_verifier_collect_spec(spec=self):
            yield from items or []


def _scenario_items(spec: SpecFile) -> Iterator[pytest.Item]:
    """One item per scenario of a valid spec (an invalid one fails its `check` item)."""
    try:
        from verifier.testing.collect import collect
    except ModuleNotFoundError:
        return  # the `check` item names the missing extra
    for unit in collect([_shown(spec.path)]):
        if unit.model is None:
            continue
        for plan in unit.plans:
            yield ScenarioItem.from_parent(
                spec, name=f"scenario {plan.name}", model=unit.model, plan=plan
            )


class ScenarioItem(pytest.Item):
    """Passes when every step of one scenario gets the verdict the scenario expects."""

    def __init__(self, *, model: Any, plan: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model, self.plan = model, plan

    def runtest(self) -> None:
        from verifier.testing.host import in_memory_guard
        from verifier.testing.render import outcome_text
        from verifier.testing.run import Runner

        outcome = Runner(in_memory_guard(self.model)).run(self.plan)
        if not outcome.passed:
            raise SpecFailure("\n".join(line.strip() for line in outcome_text(outcome)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.plan.line - 1, 0), f"scenario {self.plan.name}"


class SpecItem(pytest.Item):
    """Passes when every property of the spec is proved."""

    def runtest(self) -> None:
        try:
            from verifier.check.dispatch import CheckOptions, run_check
            from verifier.check.results import CheckResult
            from verifier.lang.frontend import load_file
            from verifier.report.text import render_result
        except ModuleNotFoundError as err:
            raise SpecFailure(
                f"error: `{SPECS_INI}` needs the checker, which is not installed"
                f" (missing: {err.name})\nhint: pip install 'verifier[check]'"
            ) from None
        engine = str(self.config.getini(ENGINE_INI))
        loaded = load_file(_shown(self.path))
        if loaded.model is None:
            result = CheckResult(loaded.path, loaded.source, None, diagnostics=loaded.diagnostics)
        else:
            result = run_check(loaded.model, CheckOptions(engine=engine))
            result.diagnostics[:0] = loaded.diagnostics
        self.user_properties.append(("verdict", result.verdict))
        if result.verdict != "proved" or not result.complete:
            raise SpecFailure(render_result(result, verbose=False))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"verifier check {self.path.name}"
