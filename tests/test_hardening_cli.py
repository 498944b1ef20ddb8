"""Issue 13, the command line and its I/O: configuration files, suppressions, baselines,
discovery, streams and signals, each through the real entry point (``python -m preflight`` in
a subprocess, or ``main()`` in process where only a monkeypatch can provoke the failure).

Every run must end with exit code 0, 1, 2 or 130, and never with a traceback or an "internal
error" for anything the user (or the repository) did.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preflight.cli import main
from preflight.discover import Excluder

# gunicorn runs but is not installed: PKG001 on Dockerfile line 4.
PYPROJECT = '[project]\nname = "api"\nversion = "1"\ndependencies = ["fastapi", "uvicorn"]\n'
DOCKERFILE = 'FROM python:3.12-slim\nCOPY . .\nRUN pip install .\nCMD ["gunicorn", "app:app"]\n'
# PKG001 on line 3 without any pyproject.toml
STANDALONE_DOCKERFILE = (
    'FROM python:3.12-slim\nRUN pip install uvicorn\nCMD ["gunicorn", "app:app"]\n'
)
HANG_GUARD = 120  # seconds; a guard against a hang only, never a performance assertion


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def seed(root: Path, **extra: str) -> Path:
    return write(root, {"pyproject.toml": PYPROJECT, "Dockerfile": DOCKERFILE, **extra})


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    out["NO_COLOR"] = "1"
    out.pop("PYTHONIOENCODING", None)
    out.update(extra)
    return out


def cli(
    tmp_path: Path,
    *args: str,
    cwd: Path | None = None,
    stdout: int | None = subprocess.PIPE,
    extra_env: dict[str, str] | None = None,
    code: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m preflight ARGS`` (or ``python -c CODE ARGS``), output as bytes."""
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "preflight"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd or tmp_path,
        env=env(tmp_path, **(extra_env or {})),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=HANG_GUARD,
        check=False,
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def assert_one_line_error(result: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") == 1 and err.startswith("preflight: error: "), err
    for word in words:
        assert word in err, err
    return err


def finding_codes(out: bytes) -> list[str]:
    return [f["code"] for f in json.loads(out)["findings"]]


# --- Medium 12: configuration files the repository links to outside its root ------------------


@pytest.mark.parametrize("name", ["preflight.toml", "pyproject.toml"])
def test_config_symlinked_outside_the_root_is_not_applied(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # If read, this would select nothing but PF rules and echo the canary in an error.
    table = 'ignore = ["PKG"]\nper-file-ignores = { "x" = ["CANARY9"] }\n'
    (outside / name).write_text(table if name == "preflight.toml" else "[tool.preflight]\n" + table)
    root = seed(tmp_path / "repo", Dockerfile=STANDALONE_DOCKERFILE)
    if name == "pyproject.toml":
        (root / "pyproject.toml").unlink()
    (root / name).symlink_to(outside / name)
    result = cli(tmp_path, "check", "--verbose", "--format", "text", str(root))
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1, out + err  # PKG001 still reported: the config was not read
    assert "CANARY9" not in out + err
    assert f"{name}: not read as configuration: a symlink that points outside" in out


def test_config_symlinked_inside_the_root_is_applied(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo", **{"conf/preflight.toml": 'ignore = ["PKG001"]\n'})
    (root / "preflight.toml").symlink_to(root / "conf" / "preflight.toml")
    result = cli(tmp_path, "check", str(root))
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_that_is_a_fifo_is_ignored_without_hanging(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo")
    os.mkfifo(root / "preflight.toml")
    result = cli(tmp_path, "check", "--verbose", str(root))
    assert result.returncode == 1, result.stderr
    assert b"preflight.toml: not read as configuration: not a regular file" in result.stdout


# --- Medium 14 and Low: wrong types in configuration ---------------------------------------------


def test_a_tool_that_is_not_a_table_is_not_ours(tmp_path: Path) -> None:
    for document in ("tool = 1\n", "tool = [1, 2]\n", 'tool = "x"\n'):
        root = write(tmp_path / "repo", {"pyproject.toml": document, "Dockerfile": DOCKERFILE})
        result = cli(tmp_path, "check", str(root))
        err = result.stderr.decode()
        assert result.returncode in (0, 1), err
        assert "Traceback" not in err and "internal error" not in err, err


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ("[tool]\npreflight = 1\n", "[tool.preflight]"),
        ("[tool]\npreflight = [1]\n", "[tool.preflight]"),
        ("[tool.preflight]\nrules = 1\n", "`rules`"),
        ("[tool.preflight.rules]\nPKG001 = 1\n", "`rules.PKG001`"),
        ("[tool.preflight]\nselect = 1\n", "`select`"),
        ('[tool.preflight]\nper-file-ignores = { "a" = 1 }\n', "`per-file-ignores.a`"),
        ("[tool.preflight]\nexclude = [1]\n", "`exclude` item 1"),
        # bool is an int subclass: `true` must not become a 1-byte size cap
        ("[tool.preflight]\nmax-file-size = true\n", "`max-file-size`"),
        ("[tool.preflight]\nmax-file-size = 1.0\n", "`max-file-size`"),
        ('[tool.preflight]\nmax-file-size = "9"\n', "`max-file-size`"),
    ],
)
def test_wrong_types_in_our_table_are_exit_2_naming_file_and_key(
    tmp_path: Path, document: str, key: str
) -> None:
    root = write(tmp_path / "repo", {"pyproject.toml": document, "Dockerfile": DOCKERFILE})
    assert_one_line_error(cli(tmp_path, "check", str(root)), "pyproject.toml", key)
    explicit = cli(tmp_path, "check", "--config", str(root / "pyproject.toml"), str(root))
    assert_one_line_error(explicit, "pyproject.toml", key)


def test_wrong_types_in_preflight_toml_are_exit_2(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo", **{"preflight.toml": "max-file-size = false\n"})
    assert_one_line_error(cli(tmp_path, "check", str(root)), "preflight.toml", "max-file-size")


# --- Medium 19: baselines -------------------------------------------------------------------------


def test_baseline_rewritten_in_place_records_the_current_findings(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    first = cli(tmp_path, "check", "--write-baseline", str(baseline), str(root))
    assert first.returncode == 0, first.stderr
    recorded = json.loads(baseline.read_text())["findings"]
    assert [entry["code"] for entry in recorded] == ["PKG001"]
    again = cli(
        tmp_path, "check", "--baseline", str(baseline), "--write-baseline", str(baseline), str(root)
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(baseline.read_text())["findings"] == recorded  # not emptied
    assert cli(tmp_path, "check", "--baseline", str(baseline), str(root)).returncode == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_baseline_not_written_when_a_rule_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import preflight.checks

    root = seed(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    assert in_process(capsys, "check", "--write-baseline", str(baseline), str(root))[0] == 0
    before = baseline.read_bytes()

    def crash(*args: object) -> list[object]:
        raise RuntimeError("boom")

    rules = [
        dataclasses.replace(rule, check=crash) if rule.code == "PKG001" else rule
        for rule in preflight.checks.RULES
    ]
    monkeypatch.setattr(preflight.checks, "RULES", rules)
    # --no-cache: the run record of the first run would report its result (the rules are the
    # same code on disk; only this process changed them)
    code, _, err = in_process(
        capsys, "check", "--no-cache", "--write-baseline", str(baseline), str(root)
    )
    assert code == 2
    assert "rule PKG001 failed" in err and "the baseline was not written" in err
    assert baseline.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json", "repo"]


def test_baseline_into_a_missing_directory_is_a_plain_error(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo")
    result = cli(tmp_path, "check", "--write-baseline", str(tmp_path / "no" / "b.json"), str(root))
    assert_one_line_error(result, "cannot write baseline", "No such file or directory")


def test_two_roots_never_share_fingerprints_nor_miscount_fixed(tmp_path: Path) -> None:
    a = seed(tmp_path / "a")
    seed(tmp_path / "b")
    result = cli(tmp_path, "check", "--format", "gitlab", "a", "b")
    prints = [f["fingerprint"] for f in json.loads(result.stdout)]
    assert len(prints) == 2 and len(set(prints)) == 2
    baseline = tmp_path / "baseline.json"
    assert cli(tmp_path, "check", "--write-baseline", str(baseline), "a", "b").returncode == 0
    assert len(json.loads(baseline.read_text())["findings"]) == 2
    # fixed in a only (uvicorn is installed, and told to listen beyond the container's loopback)
    (a / "Dockerfile").write_text(
        DOCKERFILE.replace('"gunicorn", "app:app"', '"uvicorn", "app:app", "--host", "0.0.0.0"')
    )
    after = cli(tmp_path, "check", "--baseline", str(baseline), "--statistics", "a", "b")
    assert after.returncode == 0, after.stdout + after.stderr  # b's finding is still baselined
    assert b"    1  fixed since the baseline" in after.stdout
    # Fingerprints name each root relative to the roots' common directory: spelt differently,
    # from another working directory, the baseline still applies.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = cli(tmp_path, "check", "--baseline", str(baseline), "../b/", str(a), cwd=elsewhere)
    assert again.returncode == 0, again.stdout


# --- Medium 20: malformed suppressions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "why", "how"),
    [
        ("# preflight: ignore[PKG001", "no closing `]`", "`# preflight: ignore[PKG001]`"),
        (
            "# preflight: ignore [PKG001]",
            "nothing may come between `ignore` and `[`",
            "`# preflight: ignore[PKG001]`",
        ),
        (
            "# preflight: ignore PKG001",
            "no brackets around the codes",
            "`# preflight: ignore[PKG001]`",
        ),
        (
            "# preflight: ignore[PKG001] because",
            "text after the closing `]`",
            "`# preflight: ignore[PKG001] -- because`",
        ),
        (
            "# preflight: ignored",
            "not a bracketed list of codes",
            "`# preflight: ignore[CODE, ...]`",
        ),
        (
            "# preflight: ignore # PKG001",
            "no brackets around the codes",
            "`# preflight: ignore[PKG001]`",
        ),
        ("# preflight: ignore[]", "no codes in the brackets", "`# preflight: ignore[CODE, ...]`"),
        (
            "# preflight: ignroe[PKG001]",
            "`ignroe` is not a preflight directive",
            "`# preflight: ignore[PKG001]`",
        ),
        (
            "# preflight: noqa: PKG001",
            "`noqa` is not a preflight directive",
            "`# preflight: ignore[PKG001]`",
        ),
        (
            "# preflight: ignore-file",
            "`ignore-file` needs the codes",
            "`# preflight: ignore-file[CODE, ...]`",
        ),
    ],
)
def test_a_malformed_suppression_hides_nothing_and_is_pf003_with_a_fix(
    tmp_path: Path, comment: str, why: str, how: str
) -> None:
    lines = DOCKERFILE.splitlines()
    lines.insert(3, comment)
    root = seed(tmp_path / "repo", Dockerfile="\n".join(lines) + "\n")
    result = cli(tmp_path, "check", "--format", "json", str(root))
    findings = json.loads(result.stdout)["findings"]
    assert sorted(f["code"] for f in findings) == ["PF003", "PKG001"], findings
    pf003 = next(f for f in findings if f["code"] == "PF003")
    assert pf003["line"] == 4 and why in pf003["message"]
    assert pf003["severity"] == "warning"
    assert how in pf003["fix"]  # the marker as it should be written


@pytest.mark.parametrize(
    "comment",
    [
        "# preflight: ignore",
        "# preflight: ignore   ",
        "# preflight: ignore[PKG001]",
        "# preflight: ignore[pkg001, PF001]  # gunicorn comes from the base image",
        "# preflight: ignore[PKG001] -- gunicorn comes from the base image",
        "# preflight: ignore -- generated file",
    ],
)
def test_well_formed_suppressions_still_work(tmp_path: Path, comment: str) -> None:
    lines = DOCKERFILE.splitlines()
    lines.insert(3, comment)
    root = seed(tmp_path / "repo", Dockerfile="\n".join(lines) + "\n")
    result = cli(tmp_path, "check", "--format", "json", "--select", "PKG", str(root))
    assert result.returncode == 0 and finding_codes(result.stdout) == [], result.stdout


# --- Low: streams --------------------------------------------------------------------------------


def run_into_closed_pipe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Standard output a pipe whose reader is gone before preflight writes: EPIPE for sure."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return cli(tmp_path, *args, stdout=write_end)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check", "--exit-zero", "repo"), 0),
        (("check", "repo"), 1),
        (("check", "--format", "json", "repo"), 1),
        (("check", "--format", "sarif", "--exit-zero", "repo"), 0),
        (("check", "clean"), 0),
        (("explain", "PKG001"), 0),
        (("rules",), 0),
        (("--help",), 0),
    ],
)
def test_a_reader_that_goes_away_ends_the_run_quietly_with_its_own_code(
    tmp_path: Path, args: tuple[str, ...], expected: int
) -> None:
    seed(tmp_path / "repo")
    # clean, and deployable (else a warning on stderr says there was nothing to check)
    write(tmp_path / "clean", {"README.md": "nothing to check\n", "Dockerfile": "FROM nginx:1\n"})
    result = run_into_closed_pipe(tmp_path, *args)
    assert result.returncode == expected
    assert result.stderr == b""


def test_ctrl_c_is_130_with_one_line(tmp_path: Path) -> None:
    seed(tmp_path / "repo")
    interrupt_in_the_run = textwrap.dedent(
        """
        import os, signal, sys
        import preflight.engine
        def run(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            signal.pause()
        preflight.engine.run = run
        from preflight.cli import main
        main(sys.argv[1:])
        """
    )
    result = cli(tmp_path, "check", "repo", code=interrupt_in_the_run)
    assert result.returncode == 130
    assert result.stderr == b"preflight: interrupted\n"


def test_ctrl_c_with_parser_processes_is_130_with_one_line(tmp_path: Path) -> None:
    from preflight.parse.run import POOL_THRESHOLD, default_workers

    if default_workers() < 2:
        pytest.skip("one CPU: --jobs is capped at 1, so no parser processes start")
    root = seed(tmp_path / "repo")
    for index in range(POOL_THRESHOLD + 50):
        (root / f"m{index}.py").write_text("x = 1\n")
    # The first parse job, in a parser process, sends SIGINT to the whole process group, as a
    # terminal's Ctrl-C does.
    interrupt_in_a_worker = textwrap.dedent(
        """
        import os, signal, sys, time
        import preflight.parse.run as parse_run
        def parse_one(job):
            os.killpg(os.getpgid(0), signal.SIGINT)
            time.sleep(30)
        parse_run.parse_one = parse_one
        from preflight.cli import main
        main(sys.argv[1:])
        """
    )
    command = [sys.executable, "-c", interrupt_in_a_worker, "check", "--no-cache", "-j", "2"]
    process = subprocess.run(
        [*command, "repo"],
        cwd=tmp_path,
        env=env(tmp_path),
        capture_output=True,
        timeout=HANG_GUARD,
        start_new_session=True,  # a process group of its own: the SIGINT stays inside it
        check=False,
    )
    assert process.returncode == 130, process.stderr
    assert process.stderr == b"preflight: interrupted\n"


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_an_encoding_that_cannot_show_the_text_does_not_crash(
    tmp_path: Path, encoding: str
) -> None:
    seed(tmp_path / "café→✓")
    extra = {"PYTHONIOENCODING": encoding}
    page = cli(tmp_path, "explain", "DB004", extra_env=extra)  # the page has `→`
    assert page.returncode == 0 and b"DB004" in page.stdout and page.stderr == b""
    text = cli(tmp_path, "check", "café→✓", extra_env=extra)
    assert text.returncode == 1 and b"PKG001" in text.stdout and text.stderr == b"", text.stderr
    for output_format in ("json", "sarif", "gitlab", "junit", "github"):
        machine = cli(tmp_path, "check", "--format", output_format, "café→✓", extra_env=extra)
        assert machine.returncode == 1, machine.stderr
        # machine formats are UTF-8 whatever the terminal says, so the path survives intact
        # SARIF artifact URIs are percent-encoded (RFC 3986); every other format keeps the text
        shown = (
            "caf%C3%A9%E2%86%92%E2%9C%93/Dockerfile"
            if output_format == "sarif"
            else "café→✓/Dockerfile"
        )
        assert shown in machine.stdout.decode("utf-8"), output_format
        if output_format in ("json", "sarif", "gitlab"):
            json.loads(machine.stdout.decode("utf-8"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("check", "-o", "missing/report.txt", "repo"), ("cannot write the report", "missing")),
        (("check", "-o", "/dev/full", "repo"), ("cannot write the report", "No space")),
        (("check", "--format", "json", "-o", "/dev/full", "repo"), ("No space",)),
        (("check", "-o", "repo", "repo"), ("cannot write the report",)),  # a directory
        (("check", ""), ("empty path",)),
        (("check", "-o", "", "repo"), ("--output-file", "empty path")),
        (("check", "--config", "", "repo"), ("--config", "empty path")),
        (("check", "--baseline", "", "repo"), ("--baseline", "empty path")),
        (("check", "--write-baseline", "", "repo"), ("--write-baseline", "empty path")),
        (("check", "a\nb\x1b[2J"), ("does not exist", "a\\x0ab\\x1b[2J")),  # still one line
    ],
)
def test_user_and_io_errors_are_exit_2_with_one_plain_line(
    tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    seed(tmp_path / "repo")
    assert_one_line_error(cli(tmp_path, *args), *words)


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_standard_output_full_or_closed_is_exit_2(tmp_path: Path, output_format: str) -> None:
    seed(tmp_path / "repo")
    with open("/dev/full", "wb") as full:
        result = cli(tmp_path, "check", "--format", output_format, "repo", stdout=full.fileno())
    assert_one_line_error(result, "cannot write to standard output", "No space")
    closed = subprocess.run(
        [sys.executable, "-m", "preflight", "check", "--format", output_format, "repo"],
        cwd=tmp_path,
        env=env(tmp_path),
        stderr=subprocess.PIPE,
        timeout=HANG_GUARD,
        check=False,
        preexec_fn=lambda: os.close(1),  # started with standard output closed (`>&-`)
    )
    assert_one_line_error(closed, "standard output is closed")


# --- Low: roots and jobs -------------------------------------------------------------------------


def test_the_same_root_given_twice_is_checked_once(tmp_path: Path) -> None:
    seed(tmp_path / "repo")
    (tmp_path / "link").symlink_to(tmp_path / "repo")
    result = cli(tmp_path, "check", "--format", "json", "repo", "./repo", "repo/", "link")
    assert finding_codes(result.stdout) == ["PKG001"]


def test_jobs_are_capped_at_the_cpu_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preflight.engine
    from preflight.parse.run import default_workers

    seen: list[int] = []
    real_run = preflight.engine.run

    def counting_run(*args: object, **kwargs: object) -> object:
        seen.append(int(args[5]))  # type: ignore[call-overload]
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(preflight.engine, "run", counting_run)
    seed(tmp_path / "repo")
    code, _, _ = in_process(capsys, "check", "--jobs", "1000", str(tmp_path / "repo"))
    assert code == 1
    assert seen == [default_workers()] and seen[0] <= (os.cpu_count() or 1)


# --- Low: discovery ------------------------------------------------------------------------------


def test_directories_differing_only_in_undecodable_bytes_stay_distinct(tmp_path: Path) -> None:
    base = os.fsencode(tmp_path)
    try:
        for suffix in (b"\xff", b"\xfe"):
            os.makedirs(base + b"/repo/svc" + suffix)
            with open(base + b"/repo/svc" + suffix + b"/Dockerfile", "w") as handle:
                handle.write(STANDALONE_DOCKERFILE)
    except OSError:
        pytest.skip("this file system accepts only UTF-8 names")
    result = cli(tmp_path, "check", "--format", "json", "repo")
    paths = sorted(f["path"] for f in json.loads(result.stdout.decode("utf-8"))["findings"])
    assert paths == ["repo/svc\\xfe/Dockerfile", "repo/svc\\xff/Dockerfile"]
    text = cli(tmp_path, "check", "-q", "repo")
    assert text.returncode == 1 and b"svc\\xff/Dockerfile:3:7: PKG001" in text.stdout


def test_twenty_thousand_exclude_patterns_are_cheap(tmp_path: Path) -> None:
    """Bounded by CPU time (RLIMIT_CPU), not wall time: the old per-pattern fnmatch took minutes
    here; one pass of set and dict look-ups takes about a second."""
    import resource

    root = seed(tmp_path / "repo")
    for index in range(120):
        write(root, {f"pkg{index % 12}/sub{index % 5}/mod{index}.py": "x = 1\n"})
    patterns: list[str] = []
    for index in range(5000):
        patterns += [f"*.gen{index}", f"vendor{index}", f"out{index}*", f"a/b{index}/c"]
    patterns.append("pkg3")
    table = "[tool.preflight]\nexclude = " + json.dumps(patterns) + "\n"
    (root / "preflight.toml").write_text(table.replace("[tool.preflight]\n", ""))
    limit = 30

    def cpu_limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "preflight", "check", "--no-cache", "--format", "json", "repo"],
        cwd=tmp_path,
        env=env(tmp_path),
        capture_output=True,
        timeout=HANG_GUARD,
        check=False,
        preexec_fn=cpu_limit,
    )
    assert result.returncode == 1, result.stderr  # killed by SIGXCPU otherwise
    assert finding_codes(result.stdout) == ["PKG001"]


def reference_excluded(rel: str, patterns: Iterable[str]) -> bool:
    """The old, slow definition of an excluded path, kept as the specification (a leading `/`
    anchors a pattern to the top, as in .gitignore)."""
    for pattern in patterns:
        p = pattern.rstrip("/")
        while p.startswith("./"):
            p = p[2:]
        anchored = p.lstrip("/")
        if fnmatch.fnmatchcase(rel, anchored) or fnmatch.fnmatchcase(rel, anchored + "/*"):
            return True
        if "/" not in p and any(fnmatch.fnmatchcase(part, p) for part in rel.split("/")):
            return True
    return False


_PIECE = st.sampled_from(["a", "b", "ab", ".py", "x.y", "*", "?", "[ab]", "[!a]", "/", "[", "]"])
_PATTERN = st.lists(_PIECE, min_size=1, max_size=5).map("".join)
_PART = st.lists(st.sampled_from(["a", "b", "ab", ".py", "x.y", "[", "]", "*"]), min_size=1).map(
    "".join
)
_PATH = st.lists(_PART, min_size=1, max_size=4).map("/".join)


@settings(max_examples=300, deadline=None, database=None)  # nothing written into the repository
@given(st.lists(_PATTERN, max_size=8), st.lists(_PATH, min_size=1, max_size=8))
def test_the_fast_excluder_means_what_fnmatch_meant(patterns: list[str], paths: list[str]) -> None:
    excluded = Excluder(patterns)
    for path in paths:
        assert excluded(path) == reference_excluded(path, patterns), (path, patterns)


# --- Low: python -m preflight inside the checked repository --------------------------------------


def test_python_m_preflight_never_imports_from_the_checked_repository(tmp_path: Path) -> None:
    root = seed(tmp_path / "repo")
    sentinel = tmp_path / "SENTINEL"
    planted = f"open({str(sentinel)!r}, 'w').write('imported')\n"
    for module in ("yaml.py", "typer.py", "rich.py", "pydantic.py", "packaging.py"):
        (root / module).write_text(planted)
    result = cli(tmp_path, "check", "--format", "json", ".", cwd=root)
    assert not sentinel.exists()
    assert result.returncode == 1, result.stderr
    assert "PKG001" in finding_codes(result.stdout)
