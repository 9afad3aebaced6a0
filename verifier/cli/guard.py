"""`verifier compile`, `verifier keygen`, `verifier audit verify` and `verifier replay`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any, TextIO

import click

from verifier.cli.extras import require
from verifier.cli.options import const_option, parse_consts
from verifier.guard import artifact as art

if TYPE_CHECKING:
    from verifier.check.results import CheckResult


def compile_spec(
    spec: str,
    output: str | None,
    sign_key: str | None,
    consts: dict[str, int],
    stdout: TextIO,
    stderr: TextIO,
    certificate: str | None = None,
    serial: int = 0,
) -> int:
    """Check `spec`, and only if every property is proved write its artifact; the exit code."""
    # the checker is imported here: `keygen`, `audit` and `replay` run without it
    from verifier.check.dispatch import CheckOptions, EngineUnavailable, run_check
    from verifier.check.results import CheckResult, exit_code
    from verifier.lang.frontend import load_file
    from verifier.report.text import render_result

    loaded = load_file(spec, consts)
    if loaded.model is None:
        stderr.write(
            render_result(CheckResult(spec, loaded.source, None, diagnostics=loaded.diagnostics))
            + "\n"
        )
        return 2
    try:
        key = art.load_private_key(sign_key) if sign_key else None
        result = run_check(loaded.model, CheckOptions(certificate=certificate))
    except (art.ArtifactError, EngineUnavailable) as err:
        stderr.write(f"error: {err}\n")
        return 2
    if result.verdict != "proved" or not result.complete:
        stderr.write(render_result(result, verbose=True) + "\n")
        stderr.write(f"error: refusing to compile `{spec}`: not every property is proved\n")
        return exit_code([result]) or 3
    try:
        proof = _read_certificate(certificate)
    except OSError as err:
        stderr.write(f"error: cannot read the certificate: {(err.strerror or str(err)).lower()}\n")
        return 2
    try:
        document = art.build(result, _graph(result), proof, serial)
    except art.ArtifactError as err:
        stderr.write(f"error: {err}\n")
        return 2
    if key is not None:
        document = art.sign(document, key)
    out = output or f"{loaded.model.name}.artifact.json"
    try:
        with open(out, "wb") as fh:
            fh.write(art.dumps(document))
    except OSError as err:
        stderr.write(f"error: cannot write `{out}`: {(err.strerror or str(err)).lower()}\n")
        return 2
    signed = f", signed by {art.key_id(key.public_key())}" if key is not None else ""
    stdout.write(f"compiled `{spec}` -> `{out}` ({document['content_hash']}{signed})\n")
    return 0


def _read_certificate(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def _graph(result: CheckResult) -> dict[str, Any] | None:
    from verifier.check.explicit import explore

    if result.model is None or (result.states or 0) > art.GRAPH_LIMIT:
        return None  # a symbolic proof has no state count: the bounded search below decides
    g = explore(result.model, max_states=art.GRAPH_LIMIT)
    if not g.complete:
        return None
    return art.graph_json(g.states, g.initial, g.edges)


@click.command("compile")
@click.argument("spec", type=click.Path())
@click.option("-o", "--output", help="Artifact file (default: CAPABILITY.artifact.json).")
@click.option("--sign-key", help="Ed25519 private key (PEM) to sign the artifact with.")
@const_option
@click.option(
    "--certificate",
    metavar="PATH",
    help="Prove symbolically, write the certificate here and record its SHA-256.",
)
@click.option(
    "--serial",
    type=click.IntRange(0, art.MAX_SERIAL),
    default=0,
    show_default=True,
    help="Release number recorded (and signed) in the artifact; guards can require a minimum.",
)
def compile_cmd(
    spec: str,
    output: str | None,
    sign_key: str | None,
    consts: tuple[str, ...],
    certificate: str | None,
    serial: int,
) -> None:
    """Compile a proved spec into a content-addressed (optionally signed) artifact."""
    require("compile", "check")
    code = compile_spec(
        spec, output, sign_key, parse_consts(consts), sys.stdout, sys.stderr, certificate, serial
    )
    sys.exit(code)


@click.command()
@click.argument("name")
@click.option(
    "--secret",
    is_flag=True,
    help="Write the guard's secret NAME.secret (mode 600) instead of a signing key pair.",
)
def keygen(name: str, secret: bool) -> None:
    """Write an Ed25519 key pair: NAME.key (private, mode 600) and NAME.pub."""
    if secret:
        _write_secret(f"{name}.secret")
        return
    key = art.generate_key()
    try:
        fd = os.open(f"{name}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(art.private_pem(key))
        with open(f"{name}.pub", "wb") as fh:
            fh.write(art.public_pem(key.public_key()))
    except OSError as err:
        click.echo(f"error: cannot write `{name}.key`: {(err.strerror or '').lower()}", err=True)
        sys.exit(2)
    click.echo(f"wrote `{name}.key` and `{name}.pub` (key id {art.key_id(key.public_key())})")
    _warn_if_committable(f"{name}.key", "the signing key")


def _warn_if_committable(path: str, what: str) -> None:
    """Warn when a private file was written where a commit would publish it."""
    tree = unignored_work_tree(path)
    if tree is None:
        return
    suffix = os.path.splitext(path)[1]
    click.echo(
        f"warning: `{path}` is inside the git work tree `{tree}` and not ignored:"
        f" a commit would publish {what}\n"
        "hint: keep private keys outside the repository (for example"
        f" `verifier keygen ~/.config/verifier/NAME`), or ignore them (`*{suffix}` in .gitignore)",
        err=True,
    )


def unignored_work_tree(path: str) -> str | None:
    """The git work tree holding `path` if git would not ignore it; None if ignored or unknown.

    Quiet (None) without git, outside a work tree, or on any git error.
    """
    git = shutil.which("git")
    if git is None:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    try:
        top = subprocess.run(
            [git, "-C", folder, "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if top.returncode != 0:
            return None  # not in a work tree (or a bare repository, or git refused)
        ignored = subprocess.run(
            [git, "-C", folder, "check-ignore", "-q", "--", os.path.basename(path)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return top.stdout.strip() if ignored.returncode == 1 else None


def _write_secret(path: str) -> None:
    from verifier.guard.secret import load_secret, write_secret

    try:
        write_secret(path)
    except OSError as err:
        click.echo(f"error: cannot write `{path}`: {(err.strerror or '').lower()}", err=True)
        sys.exit(2)
    click.echo(f"wrote `{path}` (key id {load_secret(path).key_id}); only the guard may read it")
    _warn_if_committable(path, "the guard's secret")


@click.group()
def audit() -> None:
    """Work with guard audit logs."""


@audit.command("verify")
@click.argument("log", type=click.Path())
@click.option("--head", help="The hash the last record must have (detects a cut tail).")
@click.option("--secret", help="The guard's secret file: verify a keyed chain.")
@click.option(
    "--write-head",
    is_flag=True,
    help="After a successful check, accept the log's end as its head (writes LOG.head).",
)
def audit_verify(log: str, head: str | None, secret: str | None, write_head: bool) -> None:
    """Exit 0 if the hash chain is intact, 1 naming the first bad record, 2 if unreadable."""
    from verifier.guard.audit import UNREADABLE, AuditError, check_head, verify_file
    from verifier.guard.audit import write_head as accept_head
    from verifier.guard.secret import SecretError, load_secret

    try:
        key = load_secret(secret) if secret is not None else None
        report = verify_file(log, head, key)
        problem = check_head(log, key) if report.ok and not write_head else None
        if report.ok and write_head:
            accept_head(log, key)
    except (AuditError, SecretError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    if problem is not None:
        click.echo(f"{log}: {problem}")
        sys.exit(1)
    if report.ok:
        click.echo(f"ok: {report.records} records, head {report.head}")
        sys.exit(0)
    where = f"{log}:{report.bad_line}: record {report.bad_line} {report.problem}"
    if (report.problem or "").startswith(UNREADABLE):  # not a log the guard writes: unusable
        click.echo(f"error: {where}", err=True)
        sys.exit(2)
    click.echo(where)
    sys.exit(1)


@click.command()
@click.argument("artifact_path", metavar="ARTIFACT", type=click.Path())
@click.argument("trace", type=click.Path())
@click.option("--public-key", help="Require the artifact to be signed by this key (PEM file).")
def replay(artifact_path: str, trace: str, public_key: str | None) -> None:
    """Check a recorded agent trace offline, through the same code path as the live guard."""
    from verifier.guard.replay import ReplayError, replay_file

    try:
        outcome = replay_file(artifact_path, trace, public_key)
    except ReplayError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    if outcome.bad_step is None:
        click.echo(f"ok: {outcome.steps} steps admissible")
        sys.exit(0)
    click.echo(
        f"{trace}:{outcome.bad_line}: step {outcome.bad_step} `{outcome.name}`: {outcome.reason}"
    )
    sys.exit(1)
