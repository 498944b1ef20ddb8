"""IMG003 build-context-file-missing: the .dockerignore parser (Docker's semantics), the build
context model, and the rule on fixtures and small projects, firing and staying silent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import FIXTURES, codes, lint
from preflight.discover import FileKind, classify
from preflight.engine import Result
from preflight.parse.dockerignore import clean, parse_dockerignore

Project = Callable[..., Result]


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("IMG003",)


def excluded(text: str, *paths: str) -> list[bool]:
    ignore = parse_dockerignore(".dockerignore", text)
    return [ignore.excludes(path) for path in paths]


# --- the parser: the documented semantics of docs.docker.com "Build context" ------------------


def test_star_matches_one_level_only() -> None:
    # `*/temp*`: names starting with temp in any immediate subdirectory of the root
    assert excluded("*/temp*", "somedir/temporary.txt", "somedir/temp", "temp.txt", "a/b/temp") == [
        True,
        True,
        False,
        False,
    ]
    # `*/*/temp*`: two levels below the root
    assert excluded("*/*/temp*", "somedir/subdir/temporary.txt", "somedir/temp.txt") == [
        True,
        False,
    ]


def test_question_mark_is_one_character_but_never_a_slash() -> None:
    assert excluded("temp?", "tempa", "tempb", "temp", "tempab", "temp/") == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert excluded("a?b", "a/b") == [False]


def test_double_star_matches_any_number_of_directories() -> None:
    assert excluded("**/*.go", "main.go", "cmd/app/main.go", "main.gox") == [True, True, False]
    assert excluded("docs/**", "docs/a.md", "docs/x/y.md", "docs") == [True, True, False]
    assert excluded("a/**/b", "a/b", "a/x/b", "a/x/y/b", "a/xb") == [True, True, True, False]


def test_root_and_relative_spellings_are_the_same() -> None:
    for pattern in ("/foo/bar", "foo/bar", "./foo/bar", "foo//bar/", "foo/./bar"):
        assert excluded(pattern, "foo/bar", "foo/bar/baz.txt", "x/foo/bar", "foo/barn") == [
            True,
            True,
            False,
            False,
        ], pattern


def test_an_excluded_directory_excludes_everything_in_it() -> None:
    assert excluded("node_modules", "node_modules/a/b.js", "src/node_modules/x") == [True, False]
    assert excluded("*", "README.md", "app/main.py") == [True, True]


def test_exception_and_the_last_matching_line_decides() -> None:
    assert excluded("*.md\n!README.md", "README.md", "CHANGES.md") == [False, True]
    # README-secret.md comes after the exception: excluded again
    text = "*.md\n!README*.md\nREADME-secret.md"
    assert excluded(text, "README.md", "README-secret.md", "NOTES.md") == [False, True, True]
    # the exception comes last: every README is kept
    text = "*.md\nREADME-secret.md\n!README*.md"
    assert excluded(text, "README-secret.md", "README.md") == [False, False]


def test_include_only_with_star_then_exceptions() -> None:
    text = "*\n!app\n!requirements.txt\napp/**/__pycache__\n"
    assert excluded(
        text, "app/main.py", "requirements.txt", "README.md", "app/x/__pycache__/m.pyc"
    ) == [False, False, True, True]


def test_comments_blank_lines_and_spaces() -> None:
    ignore = parse_dockerignore(".dockerignore", "# a comment\n\n  *.log  \n #not a comment\n")
    assert [p.pattern for p in ignore.patterns] == ["*.log", "#not a comment"]
    assert ignore.patterns[0].span.line == 3 and ignore.patterns[0].span.col == 3
    assert excluded("a#b", "a#b") == [True]


def test_classes_and_escapes() -> None:
    assert excluded("file[0-9].txt", "file1.txt", "filea.txt") == [True, False]
    assert excluded("file[^0-9].txt", "filea.txt", "file1.txt", "file/.txt") == [
        True,
        False,
        False,
    ]
    assert excluded(r"\*.txt", "*.txt", "a.txt") == [True, False]
    assert excluded("bad[", "bad[", "bad") == [False, False]  # a bad pattern matches nothing


def test_which_line_excludes_is_reported() -> None:
    ignore = parse_dockerignore(".dockerignore", ".git\n*.md\n!README.md\ndocs\n")
    found = ignore.excluded_by("docs/README.md")
    assert found is not None and found.written == "docs" and found.span.line == 4
    assert ignore.excluded_by("README.md") is None


def test_clean_is_go_filepath_clean() -> None:
    assert clean("./a/../b//c/") == "b/c"
    assert clean("/../a") == "/a"
    assert clean("../a") == "../a"
    assert clean(".") == "."


def test_discover_classifies_dockerignore_files() -> None:
    assert classify(".dockerignore") is FileKind.DOCKERIGNORE
    assert classify("services/api/.dockerignore") is FileKind.DOCKERIGNORE
    assert classify("docker/api.Dockerfile.dockerignore") is FileKind.DOCKERIGNORE
    assert classify("Dockerfile.dockerignore") is FileKind.DOCKERIGNORE
    assert classify("Dockerfile") is FileKind.DOCKERFILE


# --- the rule on the fixtures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "where"),
    [
        ("img003-dockerignore-excludes-readme", [(".dockerignore", 5)]),
        ("img003-uv-sync-before-source", [("Dockerfile", 5)]),
        ("img003-uv-lock-not-copied", [("Dockerfile", 5)]),
        ("img003-compose-requirements-excluded", [("services/api/.dockerignore", 3)]),
        ("img003-poetry-readme-excluded", [(".dockerignore", 2)]),
        ("img003-clean-readme-negation", []),
        ("img003-clean-uv-bind-mounts", []),
        ("img003-clean-poetry-no-root", []),
        ("img003-clean-requirements-project", []),
        ("img003-clean-monorepo-subdir-context", []),
        ("img003-clean-dockerfile-specific-ignore", []),
    ],
)
def test_fixtures(fixture: str, where: list[tuple[str, int]]) -> None:
    result = lint(FIXTURES / fixture, select=["IMG003"])
    assert [(f.span.path, f.span.line) for f in result.findings] == where


def test_the_excluded_readme_relates_the_install_step_and_the_pyproject_line() -> None:
    result = lint(FIXTURES / "img003-dockerignore-excludes-readme", select=["IMG003"])
    (finding,) = result.findings
    assert [(r.span.path, r.span.line) for r in finding.related] == [
        ("Dockerfile", 7),
        ("pyproject.toml", 4),
    ]
    assert "Readme file does not exist: README.md" in finding.message
    assert finding.fix is not None and "!README.md" in finding.fix


# --- small projects --------------------------------------------------------------------------

HATCH = """\
[project]
name = "orders"
version = "0.1.0"
readme = "README.md"
license = {file = "LICENSE"}
dependencies = ["fastapi"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""
BASE = {
    "pyproject.toml": HATCH,
    "README.md": "# orders\n",
    "LICENSE": "MIT\n",
    "uv.lock": "version = 1\n",
    "orders/__init__.py": "",
}


def at(result: Result) -> list[tuple[str, int]]:
    assert set(codes(result)) <= {"IMG003"}, [f.message for f in result.findings]
    return [(f.span.path, f.span.line) for f in result.findings]


def test_license_file_excluded(project: Project) -> None:
    result = project(
        {
            **BASE,
            ".dockerignore": "LICENSE\n",
            "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n",
        }
    )
    assert at(result) == [(".dockerignore", 1)]
    assert "License file does not exist: LICENSE" in result.findings[0].message


def test_dockerfile_specific_ignore_file_takes_precedence(project: Project) -> None:
    result = project(
        {
            **BASE,
            ".dockerignore": ".git\n",
            "docker/api.Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
            "RUN pip install .\n",
            "docker/api.Dockerfile.dockerignore": "*.md\n",
            "docker-compose.yml": "services:\n  api:\n    build:\n      context: .\n"
            "      dockerfile: docker/api.Dockerfile\n",
        }
    )
    assert at(result) == [("docker/api.Dockerfile.dockerignore", 1)]


def test_copy_source_absent_needs_a_certain_context(project: Project) -> None:
    dockerfile = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    # at the root: certain
    assert at(project({"Dockerfile": dockerfile})) == [("Dockerfile", 3)]


def test_copy_source_absent_in_a_guessed_context_is_silent(project: Project) -> None:
    dockerfile = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    assert at(project({"api/Dockerfile": dockerfile, "api/app.py": ""})) == []


def test_ambiguous_contexts_are_silent(project: Project) -> None:
    files = {
        **BASE,
        "docker/Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n",
        "docker-compose.yml": "services:\n  a:\n    build:\n      context: .\n"
        "      dockerfile: docker/Dockerfile\n  b:\n    build:\n      context: docker\n"
        "      dockerfile: Dockerfile\n",
    }
    assert at(project(files)) == []


def test_generated_or_mentioned_copy_sources_are_silent(project: Project) -> None:
    dockerfile = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nCOPY dist/ ./dist\n"
    files = {
        "Dockerfile": dockerfile,
        "build.sh": "#!/bin/sh\npoetry export -o requirements.txt\ndocker build -t app .\n",
    }
    assert at(project(files)) == []


def test_copy_from_another_stage_or_a_run_that_writes_it(project: Project) -> None:
    from_stage = (
        "FROM python:3.12-slim AS build\nWORKDIR /src\nRUN touch README.md\n"
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\n"
        "COPY --from=build /src/ ./\nRUN pip install .\n"
    )
    assert at(project({**BASE, "Dockerfile": from_stage})) == []
    written = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml LICENSE ./\n"
        "COPY orders ./orders\nRUN echo '# orders' > README.md\nRUN pip install .\n"
    )
    assert at(project({**BASE, "Dockerfile": written})) == []
    not_written = written.replace("RUN echo '# orders' > README.md\n", "")
    assert at(project({**BASE, "Dockerfile": not_written})) == [("Dockerfile", 5)]


def test_setuptools_and_virtual_uv_projects_are_silent(project: Project) -> None:
    setuptools = HATCH.replace("hatchling.build", "setuptools.build_meta").replace(
        '"hatchling"', '"setuptools"'
    )
    dockerfile = "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\nRUN pip install .\n"
    assert at(project({**BASE, "pyproject.toml": setuptools, "Dockerfile": dockerfile})) == []


def test_uv_without_build_system_installs_nothing_to_build(project: Project) -> None:
    virtual = HATCH.split("[build-system]")[0]
    dockerfile = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\n"
        "RUN uv sync --frozen\n"
    )
    assert at(project({**BASE, "pyproject.toml": virtual, "Dockerfile": dockerfile})) == []


def test_poetry_1_only_warns(project: Project) -> None:
    poetry = (
        '[tool.poetry]\nname = "orders"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n'
        'readme = "README.md"\n[build-system]\nrequires = ["poetry-core"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
    )
    dockerfile = (
        "FROM python:3.12-slim\nRUN pip install poetry=={}\nWORKDIR /app\n"
        "COPY pyproject.toml ./\nRUN poetry install\n"
    )
    files = {**BASE, "pyproject.toml": poetry, "poetry.lock": ""}
    assert at(project({**files, "Dockerfile": dockerfile.format("1.8.3")})) == []
    assert at(project({**files, "Dockerfile": dockerfile.format("2.1.1")})) == [("Dockerfile", 5)]


def test_frozen_from_the_environment(project: Project) -> None:
    dockerfile = (
        "FROM python:3.12-slim\nENV UV_FROZEN=1\nWORKDIR /app\nCOPY pyproject.toml ./\n"
        "RUN uv sync --no-install-project\n"
    )
    assert at(project({**BASE, "Dockerfile": dockerfile})) == [("Dockerfile", 5)]


def test_a_flag_before_frozen_is_not_read_as_its_value(project: Project) -> None:
    """`--all-packages` takes no value: `--frozen` after it still needs uv.lock."""
    dockerfile = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\n"
        "RUN uv sync --all-packages --frozen --no-install-project\n"
    )
    assert at(project({**BASE, "Dockerfile": dockerfile})) == [("Dockerfile", 4)]


def test_workspace_member_lock_is_the_workspace_s(project: Project) -> None:
    files = {
        "uv.lock": "version = 1\n",
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/api/pyproject.toml": HATCH,
        "packages/api/README.md": "",
        "packages/api/LICENSE": "",
        "packages/api/orders/__init__.py": "",
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY packages/api/ ./\n"
        "RUN uv sync --frozen\n",
    }
    assert at(project(files)) == []


def test_verbose_says_why_it_stayed_silent(project: Project) -> None:
    files = {
        **BASE,
        "docker/Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n",
        "docker-compose.yml": "services:\n  a:\n    build:\n      context: .\n"
        "      dockerfile: docker/Dockerfile\n  b:\n    build:\n      context: docker\n"
        "      dockerfile: Dockerfile\n",
    }
    result = project(files)
    assert result.findings == []
    assert any(
        note.startswith("IMG003 silent") and "2 different contexts" in note for note in result.notes
    ), result.notes


def test_a_directory_copied_over_keeps_the_files_copied_before(project: Project) -> None:
    # COPY src/ /app/ merges into /app: pyproject.toml and README.md copied before stay
    files = {
        **BASE,
        "src/orders/__init__.py": "",
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\n"
        "COPY pyproject.toml README.md LICENSE uv.lock /app/\nCOPY src/ /app/\n"
        "RUN uv sync --frozen\n",
    }
    assert at(project(files)) == []


def test_an_install_after_cd_is_not_judged(project: Project) -> None:
    dockerfile = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml ./\n"
        "RUN cd /tmp && pip install .\n"
    )
    assert at(project({**BASE, "Dockerfile": dockerfile})) == []


def test_a_glob_copy_lands_what_it_matches(project: Project) -> None:
    dockerfile = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock* *.md ./\n"
        "RUN uv sync --frozen --no-install-project\n"
    )
    assert at(project({**BASE, "Dockerfile": dockerfile})) == []
    excluded = {**BASE, ".dockerignore": "uv.lock\n", "Dockerfile": dockerfile}
    # `uv.lock*` matches nothing the context keeps: the frozen sync has no lock
    assert at(project(excluded)) == [("Dockerfile", 4)]


def test_hostile_patterns_never_hang_or_raise() -> None:
    text = "\n".join(
        [
            "**/" * 40 + "x",
            "*a" * 30 + "b",
            "[",
            "\\",
            "!",
            "!!x",
            "[]]",
            "[a-",
            "\ufeff*.md",
            "a" * 5000,
        ]
    )
    ignore = parse_dockerignore(".dockerignore", text)
    path = "/".join(["a"] * 60) + "/" + "a" * 40
    # `**/**/…/x` is `**/x`; thirty `*a` match nothing rather than backtrack for hours
    assert ignore.excluded_by(path + "/x") is not None
    assert ignore.excluded_by(path) is None
    assert ignore.excluded_by("README.md") is None  # a BOM is stripped on line 1 only


def test_the_parser_never_raises_on_any_text() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("ab*?[]^!\\/.#- \n\ufeff"))

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet, max_size=60), st.text(st.sampled_from(list("ab/.*[")), max_size=20))
    def prop(text: str, path: str) -> None:
        ignore = parse_dockerignore(".dockerignore", text)
        ignore.excluded_by(path)
        for pattern in ignore.patterns:
            assert pattern.span.line >= 1 and pattern.span.col >= 1

    prop()
