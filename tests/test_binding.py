"""Argument bindings: syntax, static checks, the runtime binder, the artifact, fuzzing."""

from __future__ import annotations

import json
import os
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reference_binder import glob_to_re, reference_bind
from verifier.guard.binding import Binder, Bound, Refused, email_domain, normalise_path
from verifier.guard.program import Program
from verifier.ir import codec
from verifier.ir.patterns import PatternError, compile_pattern
from verifier.lang.frontend import load_text

MAIL = """
capability mail "mail with bindings"

enum Size { small, medium, large }
enum Label { clean, untrusted }
enum Area { public, private, other }

state {
  sends: 0..3 = 0
  tainted: bool = false
}

action send(external: bool, size: Size, vip: bool) {
  when sends < 3
  when not (external and tainted)
  sends := sends + 1
}

action read(area: Area, n: 0..5) {
  when sends < 3
}

event fetched(label: Label) {
  tainted := tainted or label == untrusted
}

event reset {
  when sends == 3
  sends := 0
}

tool send_email -> send {
  input { to: string(254), body: string, amount: integer = 0 }
  external = domain(to) {
    "corp.example", glob "*.corp.example" -> false
    else -> true
  }
  size = amount { below 1000 -> small, below 100000 -> medium, else -> large }
  vip = to in ["ceo@corp.example", "cfo@corp.example"]
  on success observe fetched(label = clean)
}

tool "read-file" -> read {
  input { path: string(512), n: integer = 1 }
  output { origin: string = "web" }
  area = path(path) {
    glob "/srv/public/**" -> public
    prefix "/srv/private/", regex "/home/[a-z]+/\\\\.ssh/.*" -> private
    else -> other
  }
  n = n
  on success observe fetched(label = origin { "intranet" -> clean; else -> untrusted })
}

reachable sent: sends == 3
"""


def model_of(text: str):
    loaded = load_text(text, "spec.cap")
    assert loaded.model is not None, [d.message for d in loaded.diagnostics]
    return loaded.model


@pytest.fixture(scope="module")
def binder() -> Binder:
    return Binder(model_of(MAIL))


# ---- the binder on its own


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (
            {"to": "bob@corp.example", "body": "hi"},
            {"external": False, "size": "small", "vip": False},
        ),
        (
            {"to": "Eve@Evil.COM", "body": "x", "amount": 5000},
            {"external": True, "size": "medium", "vip": False},
        ),
        (
            {"to": "a@x.corp.example", "body": "", "amount": 10**6},
            {"external": False, "size": "large", "vip": False},
        ),
        ({"to": "ceo@corp.example", "body": ""}, {"external": False, "size": "small", "vip": True}),
        (
            {"to": "a@corp.example", "body": "", "amount": -5},
            {"external": False, "size": "small", "vip": False},
        ),
    ],
)
def test_binds_calls(binder: Binder, args: dict, want: dict) -> None:
    assert binder.bind_call("send_email", args) == Bound("send", want)


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        ("rm_rf", {}, "tool `rm_rf` is not bound by the policy"),
        ("send_email", [], "tool `send_email`: the arguments must be a JSON object (line 32)"),
        ("send_email", {"body": "x"}, "tool `send_email`: missing argument `to` (line 33)"),
        (
            "send_email",
            {"to": "a@corp.example", "body": "", "bcc": "eve@evil.com"},
            "tool `send_email`: unexpected argument `bcc` (declared: to, body, amount) (line 32)",
        ),
        (
            "send_email",
            {"to": 7, "body": ""},
            "tool `send_email`: argument `to` must be a string (line 33)",
        ),
        (
            "send_email",
            {"to": "a@corp.example", "body": "", "amount": True},
            "tool `send_email`: argument `amount` must be an integer (line 33)",
        ),
        (
            "send_email",
            {"to": "a@corp.example", "body": "", "amount": 1.5},
            "tool `send_email`: argument `amount` must be an integer (line 33)",
        ),
        (
            "send_email",
            {"to": "a" * 250 + "@corp.example", "body": ""},
            "tool `send_email`: argument `to` is longer than 254 characters (line 33)",
        ),
        # the classic: a recipient list whose last address is internal
        (
            "send_email",
            {"to": "eve@evil.com, bob@corp.example", "body": ""},
            "tool `send_email`: `to` is not a plain e-mail address (rule for `external`) (line 34)",
        ),
        (
            "send_email",
            {"to": "bob@corp.example\n", "body": ""},
            "tool `send_email`: `to` is not a plain e-mail address (rule for `external`) (line 34)",
        ),
        ("read-file", {"path": "/srv/public/../private/key"}, None),
        (
            "read-file",
            {"path": "../../etc/passwd"},
            "tool `read-file`: `path` climbs above its start (rule for `area`) (line 46)",
        ),
        (
            "read-file",
            {"path": "/srv/public/a", "n": 9},
            "tool `read-file`: `n` = `9` is not a value of `n` (0..5) (line 51)",
        ),
    ],
)
def test_refuses_calls(binder: Binder, tool: str, args: object, reason: str | None) -> None:
    got = binder.bind_call(tool, args)
    if reason is None:  # `..` is resolved before matching: this is private, not public
        assert got == Bound("read", {"area": "private", "n": 1})
    else:
        assert got == Refused(reason, got.line if isinstance(got, Refused) else None)


def test_paths_are_normalised_before_matching(binder: Binder) -> None:
    for raw, area in [
        ("/srv//public/./a.txt", "public"),
        ("/srv/public/x/../../private/k", "private"),
        ("/../srv/public/a", "public"),
        ("/home/eve/.ssh/id_rsa", "private"),
        ("/home/eve/./.ssh//id_rsa", "private"),
        ("/srv/publicity", "other"),
    ]:
        assert binder.bind_call("read-file", {"path": raw}) == Bound(
            "read", {"area": area, "n": 1}
        ), raw


def test_results_become_events(binder: Binder) -> None:
    assert binder.bind_result("read-file", "success", {"origin": "intranet"}) == Bound(
        "fetched", {"label": "clean"}
    )
    assert binder.bind_result("read-file", "success", None) == Bound(
        "fetched", {"label": "untrusted"}
    )
    assert binder.bind_result("read-file", "error", {}) is None
    assert isinstance(binder.bind_result("read-file", "success", {"origin": 3}), Refused)


def test_root_resolution_stops_symlink_escapes(tmp_path: Path) -> None:
    spec = MAIL.replace("path(path)", 'path(path, root "data")')
    root = tmp_path / "data"
    (root / "srv" / "public").mkdir(parents=True)
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", root / "srv" / "public" / "link")
    binder = Binder(model_of(spec), {"data": str(root)})
    assert binder.bind_call("read-file", {"path": "srv/public/a"}) == Bound(
        "read", {"area": "public", "n": 1}
    )
    assert binder.bind_call("read-file", {"path": f"{root}/srv/public/a"}) == Bound(
        "read", {"area": "public", "n": 1}
    )
    for escape in ("srv/public/link", "../secret", "/etc/passwd", "srv/../../secret"):
        got = binder.bind_call("read-file", {"path": escape})
        assert isinstance(got, Refused) and "leaves the root `data`" in got.reason, escape
    unconfigured = Binder(model_of(spec)).bind_call("read-file", {"path": "a"})
    assert (
        isinstance(unconfigured, Refused) and "root `data` is not configured" in unconfigured.reason
    )


# ---- static checks


def binding_errors(body: str) -> list[tuple[str, int, str]]:
    text = MAIL.split("tool send_email")[0] + body
    loaded = load_text(text, "spec.cap")
    assert loaded.model is None
    base = text[: text.index(body)].count("\n")
    return [(d.code, d.span.line - base, d.message) for d in loaded.diagnostics]


STATIC = [
    ("tool t -> sned { }", "unknown-name", 1, "unknown action `sned`"),
    ("tool t -> fetched { }", "unknown-name", 1, "`fetched` is an event, not an action"),
    (
        "tool t -> read {\n  input { path: string }\n  area = public\n}",
        "unbound-parameter",
        1,
        "parameter `n` of `read` is not bound",
    ),
    (
        "tool t -> read {\n  area = public\n  area = other\n  n = 1\n}",
        "duplicate",
        3,
        "parameter `area` is bound twice",
    ),
    (
        "tool t -> read {\n  area = public\n  m = 1\n  n = 1\n}",
        "unknown-name",
        3,
        "`read` has no parameter `m`",
    ),
    (
        "tool t -> read {\n  area = secret\n  n = 1\n}",
        "unknown-name",
        2,
        "unknown input field `secret`",
    ),
    (
        "tool t -> read {\n  area = public\n  n = 6\n}",
        "out-of-range",
        3,
        "`6` is outside the parameter's domain 0..5",
    ),
    (
        'tool t -> read {\n  input { p: string }\n  area = p { "a" -> privat }\n  n = 1\n}',
        "out-of-range",
        3,
        "`privat` is not a member of `Area`",
    ),
    (
        'tool t -> read {\n  input { p: string }\n  area = p {\n    prefix "/srv/" -> public\n'
        '    glob "/*/private" -> private\n  }\n  n = 1\n}',
        "ambiguous-binding",
        5,
        '`prefix "/srv/"` and `glob "/*/private"` both match "/srv/private", which would map to '
        "`public` and to `private`",
    ),
    (
        'tool t -> read {\n  input { p: string }\n  area = p {\n    regex "[0-9]+" -> public\n'
        '    "007" -> private\n  }\n  n = 1\n}',
        "ambiguous-binding",
        5,
        'both match "007"',
    ),
    (
        'tool t -> read {\n  input { p: string }\n  area = p { regex "(a" -> public }\n  n = 1\n}',
        "bad-pattern",
        3,
        "regex `(a` is not supported: expected `)` at position 3",
    ),
    (
        'tool t -> read {\n  input { p: string }\n  area = p { regex "(a)\\\\1" -> public }\n'
        "  n = 1\n}",
        "bad-pattern",
        3,
        "unsupported escape `\\1`",
    ),
    (
        "tool t -> read {\n  input { n: integer }\n  area = public\n  n = n {\n    below 5 -> 1\n"
        "    below 3 -> 2\n  }\n}",
        "bad-range",
        6,
        "threshold 3 is not above the previous one (5)",
    ),
    (
        "tool t -> read {\n  input { p: string }\n  area = public\n  n = p { below 3 -> 1 }\n}",
        "type-mismatch",
        4,
        "`n` cannot be computed this way from string field `p`",
    ),
    (
        "tool t -> read {\n  input { p: strng }\n  area = public\n  n = 1\n}",
        "unknown-name",
        2,
        "unknown field type `strng`",
    ),
    (
        "tool t -> read {\n  area = public\n  n = 1\n}\n"
        "tool t -> read {\n  area = public\n  n = 1\n}",
        "duplicate",
        5,
        "tool `t` is bound twice",
    ),
    (
        "tool t -> read {\n  area = public\n  n = 1\n  on success observe send\n}",
        "unknown-name",
        4,
        "`send` is an action, not an event",
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "line", "message"), STATIC, ids=[s[1] + str(i) for i, s in enumerate(STATIC)]
)
def test_static_checks(body: str, code: str, line: int, message: str) -> None:
    errors = binding_errors(body)
    assert any(c == code and ln == line and message in m for c, ln, m in errors), errors


def test_overlap_with_the_same_value_is_fine() -> None:
    body = """tool t -> read {
  input { p: string }
  area = p { prefix "/a", glob "/a*" -> public; else -> other }
  n = 1
}"""
    model = model_of(MAIL.split("tool send_email")[0] + body)
    assert Binder(model).bind_call("t", {"p": "/ab"}) == Bound("read", {"area": "public", "n": 1})


# ---- artifact: proved, hashed and signed with the spec, read strictly


def test_bindings_round_trip_through_the_codec() -> None:
    model = model_of(MAIL)
    data = json.loads(codec.canonical(codec.model_to_json(model)))
    again = codec.model_from_json(data)
    assert again.bindings == model.bindings


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("rules", 0, "arms", 0, "patterns", 1), {"kind": "regex", "text": "(?=x)"}),
        (("rules", 0, "arms", 0, "patterns", 1), {"kind": "python", "text": "__import__('os')"}),
        (("rules", 0, "arms", 0, "patterns", 1), {"kind": "glob", "text": "x", "eval": "1"}),
        (("rules", 0, "arms", 0, "value"), 7),
        (("rules", 0, "arms", 0, "value"), True),
        (("rules", 0, "param"), "external; import os"),
        (("rules", 1, "bounds"), [100000, 1000]),
        (("inputs", 0, "max_length"), 10**9),
        (("inputs", 0, "type"), "object"),
        (("action",), "fetched"),
        (("rules",), []),
        (("rules", 0, "source", "field"), "nope"),
        (("tool",), "a b"),
    ],
)
def test_tampered_bindings_are_refused(path: tuple, value: object) -> None:
    data = json.loads(codec.canonical(codec.model_to_json(model_of(MAIL))))
    node = data["bindings"][0]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(codec.IRFormatError, match="binding"):
        codec.model_from_json(data)


# ---- property tests

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(["to", "body", "amount", "path", "n", "bcc"])
FRAGMENTS = [
    "a",
    "@",
    ".",
    "..",
    "/",
    "corp",
    "example",
    "corp.example",
    "ceo",
    "srv",
    "public",
    "private",
    "home",
    ".ssh",
    "-",
    "E",
    " ",
    ",",
    "\n",
    "\x00",
    "évil",
]
TEXT = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join) | st.text(max_size=12)
VALUE = TEXT | st.integers(-10, 200_000) | st.booleans() | st.floats(allow_nan=True) | st.none()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tool=st.sampled_from(["send_email", "read-file", "x"]) | JSON,
    args=JSON | st.dictionaries(FIELDS, VALUE, max_size=4),
)
def test_binding_never_raises_and_binds_only_valid_instances(tool: object, args: object) -> None:
    model = model_of(MAIL)
    got = Binder(model).bind_call(tool, args)
    assert isinstance(got, Bound | Refused)
    if isinstance(got, Bound):
        assert not isinstance(Program(model).lookup("action", got.name, got.args), tuple) or True
        entry = Program(model).lookup("action", got.name, got.args)
        assert entry.__class__.__name__ == "Entry", entry


@settings(max_examples=300, deadline=None)
@given(
    tool=st.sampled_from(["send_email", "read-file"]),
    args=st.dictionaries(FIELDS, VALUE, max_size=4)
    | st.fixed_dictionaries({"to": TEXT.map(lambda s: s + "@corp.example") | TEXT, "body": TEXT})
    | st.fixed_dictionaries({"path": TEXT.map(lambda s: "/" + s) | TEXT}),
)
def test_binder_agrees_with_the_reference(tool: str, args: dict) -> None:
    model = model_of(MAIL)
    binding = next(b for b in model.bindings if b.tool == tool)
    got = Binder(model).bind_call(tool, args)
    want = reference_bind(binding, args)
    assert (got.args if isinstance(got, Bound) else None) == want, got


def regexes() -> st.SearchStrategy[str]:
    atom = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\d", "\\.", "[a-c]", "/"])
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map(lambda p: f"({p[0]}|{p[1]})"),
            st.tuples(inner, st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{0,}"])).map(
                lambda p: f"({p[0]}){p[1]}"
            ),
        ),
        max_leaves=6,
    )


@settings(max_examples=300, deadline=None)
@given(pattern=regexes(), value=st.text(alphabet="ab1./c", max_size=10))
def test_regex_automaton_agrees_with_python_re(pattern: str, value: str) -> None:
    want = re.fullmatch(pattern, value, re.DOTALL | re.ASCII) is not None
    assert compile_pattern("regex", pattern).matches(value) == want


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(["a", "*", "**", "?", "/", "."]), max_size=6).map("".join),
    value=st.text(alphabet="a/.b", max_size=8),
)
def test_glob_automaton_agrees_with_the_reference(pattern: str, value: str) -> None:
    want = re.fullmatch(glob_to_re(pattern), value, re.DOTALL) is not None
    assert compile_pattern("glob", pattern).matches(value) == want


@settings(max_examples=300, deadline=None)
@given(a=regexes(), b=regexes())
def test_intersection_witness_is_matched_by_both(a: str, b: str) -> None:
    x, y = compile_pattern("regex", a), compile_pattern("regex", b)
    witness = x.intersection(y)
    if witness is not None:
        assert x.matches(witness) and y.matches(witness)


def test_no_catastrophic_backtracking() -> None:
    evil = compile_pattern("regex", "(a*)*(a|aa)*b")
    assert not evil.matches("a" * 4000)  # Python's re takes exponential time on this


@pytest.mark.parametrize(
    "text", ["(?=a)", "a\\1", "^a", "a$", "(a", "a{5,2}", "a{101}", "a**", "[z-a]", "*a", "\\"]
)
def test_unsupported_regexes_are_refused(text: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern("regex", text)


@given(st.text(alphabet=string.ascii_letters + "@.-_ ,\n", max_size=30))
def test_email_domain_matches_the_reference(value: str) -> None:
    from tests.reference_binder import domain_of

    assert email_domain(value) == domain_of(value)


@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "/"]), max_size=8).map("/".join))
def test_normalise_path_matches_posixpath(value: str) -> None:
    from tests.reference_binder import normal_path

    assert normalise_path(value) == normal_path(value)


# ---- the examples in docs/language.md

DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"
ROW = re.compile(r"^\| `([^`]+)` \| `(\{.*\})` \| (.+) \|$", re.MULTILINE)


def doc_rows() -> list[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("How calls to this spec's tools bind") :]
    section = section[: section.index("### Syntax")]
    return ROW.findall(section)


def test_the_documented_binding_table_holds() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("capability mailer")
    spec = text[start : text.index("```", start)]
    binder = Binder(model_of(spec))
    rows = doc_rows()
    assert len(rows) >= 10
    for tool, args, result in rows:
        got = binder.bind_call(tool, json.loads(args))
        if result.startswith("deny: "):
            want = result.removeprefix("deny: ").replace("`", "")
            assert isinstance(got, Refused) and want in got.reason.replace("`", ""), (tool, args)
        else:
            assert isinstance(got, Bound), (tool, args, got)
            shown = ", ".join(f"{k}={str(v).lower()}" for k, v in got.args.items())
            assert result == f"`{got.name}({shown})`", (tool, args)


def test_check_explains_bindings_and_rejects_overlaps(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from verifier.cli import main

    good = tmp_path / "mail.cap"
    good.write_text(MAIL)
    result = CliRunner().invoke(main, ["check", "-v", str(good)])
    assert result.exit_code == 0, result.output
    assert "tool `send_email` -> action `send`" in result.output
    assert 'external = match domain(to) { "corp.example", glob "*.corp.example" -> false;' in (
        result.output
    )
    assert "size = bucket amount { below 1000 -> small; below 100000 -> medium;" in result.output
    bad = tmp_path / "bad.cap"
    bad.write_text(MAIL.replace('glob "/srv/public/**"', 'glob "/srv/**"'))
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}:48:5: error[ambiguous-binding]:" in result.output
    assert (
        '"/srv/private/"' in result.output and "= help: make the patterns disjoint" in result.output
    )


def test_fmt_keeps_a_binding_as_written() -> None:
    from verifier.lang.format import format_text

    messy = MAIL.replace("state {\n  sends: 0..3 = 0", "state {\n      sends:   0..3 = 0")
    out = format_text(messy, "spec.cap")
    assert "state {\n  sends: 0..3 = 0" in out  # the rest is laid out
    start = MAIL.index("tool send_email")
    assert MAIL[start : MAIL.index("reachable sent")].strip() in out  # tools stay as written
    assert format_text(out, "spec.cap") == out
