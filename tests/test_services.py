"""A test that lacks a system program is skipped with the reason, and fails under CI=true."""

from __future__ import annotations

import pytest

from tests import services


def hide_everything(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no program on PATH
    monkeypatch.setattr(services, "bundled_redis", lambda: None)


def test_missing_program_skips_with_the_reason(monkeypatch, tmp_path) -> None:
    hide_everything(monkeypatch, tmp_path)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as info:
        services.require("spin", "gcc")
    assert str(info.value).startswith(
        "`spin` is not installed (the explicit engine's state counts are compared with a real"
        " SPIN run); `gcc` is not installed (SPIN compiles its verifier with gcc);"
    )


def test_missing_program_fails_under_ci(monkeypatch, tmp_path) -> None:
    hide_everything(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as info:
        services.require("redis-server")
    assert "`redis-server` is not installed" in str(info.value)
    assert "under CI=true a missing program is a failure" in str(info.value)


def test_present_program_is_found(monkeypatch, tmp_path) -> None:
    program = tmp_path / "redis-server"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    hide_everything(monkeypatch, tmp_path)
    assert services.require("redis-server") == {"redis-server": str(program)}
