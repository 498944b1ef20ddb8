"""Issue 13, Python parsing and app resolution: no native crash, no exponential work.

* High 3: a file nested too deeply is PF001 before any native parser (``ast``, libcst) sees it;
  a segfault would show as a negative return code of the subprocess.
* Medium 15: the libcst fallback for newer syntax gets one small logical line at a time
  (bounded by counting the bytes handed to it), and the rest of the file is still read.
* High 6 and the same class: route tables, app imports, call graphs and rewrite chains are
  followed with memos and caps (bounded by counting calls, and by RLIMIT_CPU in a subprocess).
* Medium 13: ports are ASCII digits only.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preflight.model import apps
from preflight.model.apps import MAX_EXPANDED, AppResolver, reaches_database, server_command
from preflight.parse import python as pyparse
from preflight.parse.python import FALLBACK_BUDGET, MAX_NESTING, PythonModule, parse_python

from ._support import assert_clean_exit, measure, preflight_env, write_files

HEADER = "from fastapi import FastAPI\napp = FastAPI()\n"

DEEP = {
    "unary": "y = " + "-" * 20_000 + "1",
    "not": "y = " + "not " * 5_000 + "x",
    "invert": "y = " + "~" * 20_000 + "1",
    "binop": "y = " + "+".join(["a"] * 20_000),
    "power": "y = " + "**".join(["a"] * 20_000),
    "attribute": "y = a" + ".b" * 20_000,
    "call": "y = f" + "()" * 20_000,
    "subscript": "y = a" + "[0]" * 20_000,
    "brackets": "y = " + "(" * 20_000 + "1" + ")" * 20_000,
    "lists": "y = " + "[" * 20_000 + "]" * 20_000,
    "ternary": "y = " + "a if b else " * 5_000 + "c",
    "lambda": "y = " + "lambda: " * 5_000 + "1",
    "fstring": "y = f'{" + "-" * 20_000 + "1}'",
    "elif": "if a:\n    pass\n" + "elif a:\n    pass\n" * 5_000,
    "walrus": "y = " + "(z := " * 5_000 + "1" + ")" * 5_000,
}


@pytest.fixture
def native_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text handed to ``ast.parse`` or ``libcst.parse_module`` in this process."""
    import libcst

    seen: list[str] = []
    real_ast, real_cst = ast.parse, libcst.parse_module

    def spy_ast(source: str, *args: object, **kwargs: object) -> ast.Module:
        seen.append(source)
        return real_ast(source, *args, **kwargs)  # type: ignore[arg-type, no-any-return]

    def spy_cst(source: str, *args: object, **kwargs: object) -> libcst.Module:
        seen.append(source)
        return real_cst(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ast, "parse", spy_ast)
    monkeypatch.setattr(libcst, "parse_module", spy_cst)
    yield seen


# --- High 3: too deep for a native parser --------------------------------------------------


def test_the_reported_segfault_is_pf001(tmp_path: Path) -> None:
    """The report: 20 KB, `type X = int` (so the libcst fallback runs on 3.11), then 20,000
    unary minus signs. Exit 139 with no output before; now PF001 at the deep line."""
    source = HEADER + "type X = int\n" + "y = " + "-" * 20_000 + "1\n"
    root = write_files(tmp_path / "repo", {"app/main.py": source})
    result = measure(
        ["check", "--no-color", "--no-cache", str(root)], env=preflight_env(tmp_path), timeout=60
    )
    assert result.code >= 0, f"killed by signal {-result.code}\n{result}"
    assert_clean_exit(result)
    assert "app/main.py:4:1: PF001 error: Python nested too deeply to parse" in result.stdout, (
        result
    )


_CHILD = """
import json, sys
from preflight.parse.python import parse_python
out = {}
for name, source in json.loads(sys.stdin.read()).items():
    module = parse_python("deep.py", source)
    out[name] = [[p.span.line, p.message] for p in module.problems]
print(json.dumps(out))
"""


def test_deep_files_never_crash_the_process() -> None:
    """Every deep construct, with and without newer syntax, in a child process: a native
    crash (SIGSEGV, the OOM killer) is a negative return code, not a lost test run."""
    cases = {}
    for name, body in DEEP.items():
        cases[name] = HEADER + body + "\n"
        cases[name + "+newer"] = HEADER + "type X = int\n" + body + "\n"
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, f"exit {child.returncode}\n{child.stderr[-2000:]}"
    results = json.loads(child.stdout)
    for name, problems in results.items():
        assert len(problems) == 1, (name, problems)
        line, message = problems[0]
        assert "nested too deeply" in message, (name, message)
        expected = 4 if name.endswith("+newer") else 3  # the deep line (an elif: later)
        assert line > expected if name.startswith("elif") else line == expected, (name, line)


@pytest.mark.parametrize("name", sorted(DEEP))
def test_no_native_parser_sees_a_deep_file(name: str, native_calls: list[str]) -> None:
    for source in (HEADER + DEEP[name] + "\n", HEADER + "type X = int\n" + DEEP[name] + "\n"):
        module = parse_python("deep.py", source)
        assert [p.message for p in module.problems if "nested too deeply" in p.message]
    assert native_calls == []


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = " + "-" * 200 + "1\n", id="200 unary"),
        pytest.param("x = " + "+".join(["a"] * 500) + "\n", id="500-term sum"),
        pytest.param("x = [" + ", ".join(f"a.b + {i}" for i in range(20_000)) + "]\n", id="list"),
        pytest.param("def f():\n" + "    x = a.b.c(d, e[1:2]) + 1\n" * 5_000, id="long body"),
        pytest.param("if a:\n    pass\n" + "elif a:\n    pass\n" * 200, id="200 elifs"),
        pytest.param(
            "s = '" + "-" * 50_000 + "'\nt = '''\n" + "(" * 50_000 + "\n'''\n", id="strings"
        ),
    ],
)
def test_wide_but_shallow_files_are_read(source: str) -> None:
    """The estimate resets at commas and line ends, and skips plain strings: long files,
    long lists and long strings are far from the limit."""
    module = parse_python("wide.py", HEADER + source)
    assert module.problems == ()
    assert [r.name for r in module.routers] == ["app"]


def test_the_limit_is_far_above_real_code() -> None:
    assert parse_python("ok.py", "x = " + "-" * (MAX_NESTING - 10) + "1\n").problems == ()
    over = parse_python("deep.py", "x = " + "-" * (MAX_NESTING + 10) + "1\n")
    assert over.problems and "nested too deeply" in over.problems[0].message


def test_the_fallback_refuses_a_deep_statement(native_calls: list[str]) -> None:
    """Below the file limit but too deep for libcst's own stack: PF001, libcst never asked."""
    source = HEADER + "type X = " + "-" * (MAX_NESTING - 100) + "int\n"
    module = parse_python("deep.py", source)
    assert module.problems and module.problems[0].span.line == 3
    assert not any(isinstance(s, str) and s.startswith("type X") for s in native_calls[1:])


# --- Medium 15: what the libcst fallback parses ---------------------------------------------

ROUTES = '''
@app.get("/healthz")
def health() -> dict[str, str]:
    """A health endpoint."""
    return {"status": "ok", "version": "1.0.0", "items": [1, 2, 3]}
'''


def _big_module(newer: str, size: int = 2_000_000) -> str:
    chunk = textwrap.dedent(ROUTES)
    parts = [HEADER]
    total, n = len(HEADER), 0
    while total < size:
        part = chunk.replace("/healthz", f"/r{n}").replace("health(", f"h{n}(") if n else chunk
        parts.append(part)
        total += len(part)
        n += 1
        if n == 500:
            parts.append(newer)
    return "".join(parts)


@pytest.fixture
def fallback_stats() -> Iterator[dict[str, int]]:
    before = dict(pyparse.fallback_stats)
    counted = pyparse.fallback_stats
    counted.update(bytes=0, calls=0)
    yield counted
    counted.update(before)


NEWER = [
    pytest.param("type Alias = dict[str, int]\n", id="type-alias"),
    pytest.param("def first[T](items: list[T]) -> T:\n    return items[0]\n", id="generic-def"),
    pytest.param("try:\n    pass\nexcept ValueError, TypeError:\n    pass\n", id="pep758"),
]


@pytest.mark.parametrize("newer", NEWER)
def test_one_newer_line_in_2_mb_hands_libcst_one_line(
    newer: str, fallback_stats: dict[str, int]
) -> None:
    source = _big_module(newer)
    try:
        ast.parse(newer)
    except SyntaxError:
        pass
    else:
        pytest.skip(f"Python {sys.version_info[:2]} reads this syntax itself")
    module = parse_python("big.py", source)
    assert module.problems == ()
    assert 0 < fallback_stats["bytes"] <= 200, fallback_stats
    assert fallback_stats["calls"] <= 2
    # The rest of the file is read, not dropped: every route, the notes say why.
    assert len(module.routes) > 10_000
    assert any(route.path == "/healthz" for route in module.routes)
    assert module.notes and "checked with libcst" in module.notes[0]


def test_many_newer_lines_stay_within_the_budget(fallback_stats: dict[str, int]) -> None:
    source = HEADER + "".join(f"type T{i} = dict[str, list[int]]\n" for i in range(20_000))
    try:
        ast.parse("type X = int")
    except SyntaxError:
        pass
    else:
        pytest.skip("this Python reads `type` statements itself")
    module = parse_python("many.py", source)
    assert fallback_stats["bytes"] <= FALLBACK_BUDGET
    assert module.problems == ()  # valid Python, too much of it to check: a note, no PF001
    assert module.unread is not None


def test_invalid_python_is_still_pf001(fallback_stats: dict[str, int]) -> None:
    module = parse_python("bad.py", HEADER + "def broken(:\n    pass\n")
    assert [p.span.line for p in module.problems] == [3]
    assert fallback_stats["bytes"] < 100


def test_an_unclosed_bracket_does_not_hand_libcst_the_rest_of_the_file(
    fallback_stats: dict[str, int],
) -> None:
    source = HEADER + "x = (\n" + "y = 1\n" * 100_000
    module = parse_python("open.py", source)
    assert module.problems and module.problems[0].message.startswith("invalid Python")
    assert fallback_stats["bytes"] == 0


def test_newer_syntax_keeps_the_facts_around_it() -> None:
    source = HEADER + textwrap.dedent(
        """
        type Handler = int

        class Repo[T]:
            def get(self) -> T: ...

        @app.get("/ready")
        async def ready[T](x: T) -> dict[str, str]:
            return {"ok": "yes"}
        """
    )
    module = parse_python("app.py", source)
    assert module.problems == ()
    assert [(r.path, r.handler, r.span.line) for r in module.routes] == [("/ready", "ready", 10)]
    assert module.handlers[-1].name == "ready" and module.handlers[-1].is_async
    assert [r.name for r in module.routers] == ["app"]


# --- High 6: route tables grow exponentially, their expansion does not ----------------------


def _router_tower(levels: int, fanout: int) -> dict[str, str]:
    files = {"app/__init__.py": ""}
    for level in range(levels):
        lines = ["from fastapi import APIRouter"]
        if level + 1 < levels:
            lines.append(f"from app.r{level + 1} import router as inner")
        lines += ["router = APIRouter()", "", f'@router.get("/x{level}")', "def h(): ...", ""]
        if level + 1 < levels:
            lines += [f'router.include_router(inner, prefix="/p{i}")' for i in range(fanout)]
        files[f"app/r{level}.py"] = "\n".join(lines) + "\n"
    files["app/main.py"] = (
        "from fastapi import FastAPI\nfrom app.r0 import router\n\napp = FastAPI()\n"
        "app.include_router(router)\n"
    )
    return files


def _python(files: dict[str, str]) -> dict[str, PythonModule]:
    return {path: parse_python(path, text) for path, text in files.items() if path.endswith(".py")}


def test_nine_routers_included_six_times_each_expand_a_bounded_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    python = _python(_router_tower(9, 6))  # 6**8 = 1.7 million routes if expanded
    calls = [0]
    real = AppResolver._collect

    def counting(self: AppResolver, *args: object) -> None:
        calls[0] += 1
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(AppResolver, "_collect", counting)
    served = server_command(["uvicorn", "app.main:app"])
    assert served is not None
    app, why = AppResolver(python, []).resolve(served)
    assert app is not None, why
    assert len(app.routes) <= MAX_EXPANDED
    assert calls[0] <= MAX_EXPANDED + 10
    assert not app.complete
    assert any(f"more than {MAX_EXPANDED:,} routes" in reason for reason in app.partial)


def test_a_small_tower_is_still_expanded_in_full() -> None:
    python = _python(_router_tower(4, 3))
    served = server_command(["uvicorn", "app.main:app"])
    assert served is not None
    app, _ = AppResolver(python, []).resolve(served)
    assert app is not None and app.complete
    assert len([r for r in app.routes if not r.builtin]) == 1 + 3 + 9 + 27
    assert app.serves("/p2/p0/p1/x3") is not None


PROBED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1
          command: ["uvicorn", "app.main:app", "--port", "8000"]
          ports:
            - containerPort: 8000
          readinessProbe:
            httpGet: {path: /nowhere, port: 8000}
"""

_RLIMITED = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
sys.argv = ["preflight", *sys.argv[1:]]
runpy.run_module("preflight", run_name="__main__")
"""


@pytest.mark.parametrize("fanout", [6, 8])
def test_router_tower_end_to_end_under_a_cpu_limit(tmp_path: Path, fanout: int) -> None:
    """The report's 2.2 KB repository (14-42 s; fan-out 8: over 120 s) under RLIMIT_CPU:
    a runaway is killed by SIGXCPU and fails here. PRB002 stays silent and says why."""
    files = {**_router_tower(9, fanout), "k8s/deployment.yaml": PROBED}
    root = write_files(tmp_path / "repo", dict(files))
    child = subprocess.run(
        [sys.executable, "-c", _RLIMITED, "check", "--verbose", "--no-color", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=preflight_env(tmp_path),
        check=False,
    )
    assert child.returncode in (0, 1), f"exit {child.returncode}\n{child.stderr[-2000:]}"
    assert "Traceback" not in child.stderr
    assert "PRB002" in child.stdout and "more than 10,000 routes" in child.stdout, child.stdout


# --- the same class: every other walk over user-controlled structure -----------------------


def test_app_import_cycle_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/a.py": "from fastapi import FastAPI\nfrom app.b import app\n",
        "app/b.py": "from fastapi import FastAPI\nfrom app.a import app\n",
    }
    python = _python(files)
    calls = [0]
    real = AppResolver._object_in

    def counting(self: AppResolver, *args: object) -> object:
        calls[0] += 1
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(AppResolver, "_object_in", counting)
    served = server_command(["uvicorn", "app.a:app"])
    assert served is not None
    app, why = AppResolver(python, []).resolve(served)
    assert app is None and why is not None
    assert calls[0] <= 2


def test_factory_chain_longer_than_the_limit_ends() -> None:
    lines = ["from fastapi import FastAPI"]
    lines += [f"app{i} = make{i}()" for i in range(200)]
    lines += [f"def make{i}():\n    return app{i + 1}" for i in range(200)]
    python = _python({"app/__init__.py": "", "app/main.py": "\n".join(lines) + "\n"})
    served = server_command(["uvicorn", "app.main:app0"])
    assert served is not None
    app, why = AppResolver(python, []).resolve(served)
    assert app is None and why


def test_mount_and_include_cycles_end() -> None:
    source = textwrap.dedent(
        """
        from fastapi import APIRouter, FastAPI
        app = FastAPI()
        a = APIRouter()
        b = APIRouter()
        a.include_router(b, prefix="/b")
        b.include_router(a, prefix="/a")
        app.include_router(a)
        app.mount("/static", app)

        @a.get("/x")
        def x(): ...
        """
    )
    python = _python({"app/__init__.py": "", "app/main.py": source})
    served = server_command(["uvicorn", "app.main:app"])
    assert served is not None
    app, _ = AppResolver(python, []).resolve(served)
    assert app is not None
    assert [r.path for r in app.routes if not r.builtin] == ["/x"]


def test_call_graph_is_answered_once_per_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler calling f a thousand times, f calling g a thousand times, …: each function is
    asked about once per depth, not once per call site (a billion before)."""
    body = "\n".join(f"    f{{n}}({i})" for i in range(1_000))
    source = "".join(f"def f{n}(x):\n" + body.format(n=n + 1) + "\n\n" for n in range(3))
    source += "def f3(x):\n    return x\n"  # four deep: as far as calls are followed
    python = _python({"app/main.py": "from fastapi import FastAPI\n" + source})
    handler = next(h for h in python["app/main.py"].handlers if h.name == "f0")
    calls = [0]
    real = apps._Reach._answer

    def counting(self: apps._Reach, *args: object) -> bool | None:
        calls[0] += 1
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(apps._Reach, "_answer", counting)
    assert reaches_database(handler, "app/main.py", python) is False
    assert calls[0] <= 10


def test_url_rewrite_chains_walk_each_function_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A validator calling `a` 2,000 times, `a` calling `b` 2,000 times: `b` is walked once
    (four million times before)."""
    to_a = "\n".join(f"    a(x{i})" for i in range(2_000))
    to_b = "\n".join(f"    b(y{i})" for i in range(2_000))
    source = (
        textwrap.dedent(
            """
        from pydantic_settings import BaseSettings
        from pydantic import field_validator

        class Settings(BaseSettings):
            database_url: str

            @field_validator("database_url")
            def fix(cls, value):
        """
        )
        + textwrap.indent(to_a, "    ")
        + (
            f"\n        return value\n\ndef a(x):\n{to_b}\n    return x\n\n"
            "def b(x):\n    return x.replace('postgres://', 'postgresql+asyncpg://')\n"
        )
    )
    walked = [0]
    real_walk = ast.walk

    def counting_walk(node: ast.AST) -> Iterator[ast.AST]:
        walked[0] += isinstance(node, ast.FunctionDef) and node.name == "b"
        return real_walk(node)

    monkeypatch.setattr(ast, "walk", counting_walk)
    module = parse_python("settings.py", source)
    assert module.problems == ()
    rewrites = module.settings[0].validators["database_url"]
    assert any(r.new_prefix == "postgresql+asyncpg://" for r in rewrites)
    assert walked[0] <= 5, walked[0]


def test_nested_try_in_nested_functions_is_asked_once() -> None:
    depth = 40
    lines = []
    for level in range(depth):
        pad = "    " * level
        lines.append(f"{pad}def f{level}():")
    inner = "    " * depth
    lines.append(
        f"{inner}try:\n{inner}    db.execute(1)\n{inner}except Exception:\n{inner}    pass"
    )
    source = "from fastapi import FastAPI\n" + "\n".join(lines) + "\n"
    module = parse_python("nested.py", source)
    assert module.problems == ()
    assert all(h.catches for h in module.handlers)


# --- Medium 13: ports in ASCII digits only ---------------------------------------------------


@pytest.mark.parametrize(
    "port",
    [
        "8²",
        "²",
        "٨٠٠٠",
        "\uff18\uff10\uff10\uff10",
        "0" * 5_000,
        "${PORT:-8²}",
        "$(PORT)",
        "-1",
        "",
    ],
)
def test_a_port_that_is_not_ascii_digits_is_unknown(port: str) -> None:
    served = server_command(["uvicorn", "app.main:app", "--port", port], {"PORT": "٨"})
    assert served is not None
    assert served.port is None


def test_ascii_ports_still_read() -> None:
    for argv, env, expected in [
        (["uvicorn", "app:app", "--port", "8080"], {}, 8080),
        (["uvicorn", "app:app", "--port", "$PORT"], {"PORT": "9000"}, 9000),
        (["uvicorn", "app:app", "--port", "${PORT:-8001}"], {}, 8001),
        (["gunicorn", "app:app", "-b", "0.0.0.0:7000"], {}, 7000),
        (["gunicorn", "app:app", "-b", "0.0.0.0:7⁰⁰⁰"], {}, None),
    ]:
        served = server_command(argv, env)
        assert served is not None and served.port == expected, (argv, served)


_ALPHABET = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "-",
    "+",
    ".",
    "a",
    " ",
    "\n",
    ",",
    "=",
    "not ",
    "elif ",
    "if ",
    'f"{',
    '}"',
    "'",
    "#",
    "\\\n",
    "    ",
]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(_ALPHABET), min_size=0, max_size=1500))
def test_the_cheap_pre_test_never_skips_a_deep_text(pieces: list[str]) -> None:
    """Skipping the scan when _may_nest_deeply says no is sound: the scan would not have found
    the text too deep either."""
    from preflight.parse.python import _layout, _may_nest_deeply

    for text in ("".join(pieces), "".join(pieces) * 3):
        if not _may_nest_deeply(text):
            assert _layout(text).depth < MAX_NESTING


def test_the_pre_test_sends_deep_texts_to_the_scan() -> None:
    from preflight.parse.python import _may_nest_deeply

    assert _may_nest_deeply("y = " + "-" * 20_000 + "1")
    assert _may_nest_deeply("x = " + "(" * 600 + ")" * 600)
    assert _may_nest_deeply("if a:\n    pass\n" + "elif a:\n    pass\n" * 1000)
    assert not _may_nest_deeply("import os\n\nVALUE = os.environ['X']\n" * 10)
