"""The import rules of ARCHITECTURE.md, enforced: every module of the project is parsed (its AST,
nothing is imported or run) and each import is checked against what its package may use.

Imports under ``if TYPE_CHECKING:`` and inside functions count like any other: a dependency
written only for the type checker, or deferred for start-up time, is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_PROJECT = {"tests", "bench", ".venv", ".venv-ci", "build", "dist"}

# Which project packages each package may import (besides itself). Data flows one way:
# surfaces (cli, bot, demo) -> service -> checks / actions / reports -> providers + store,
# with config and common below everything; app.py, the composition root, may import anything.
MAY_IMPORT: dict[str, set[str]] = {
    "common": set(),
    "templates": set(),
    "config": {"common"},
    "sandbox": {"common"},
    "providers": {"common", "config"},
    "store": {"common", "config", "providers"},
    "checks": {"common", "config", "providers", "templates"},
    "actions": {"common", "config", "providers", "store", "checks"},
    "reports": {"common", "config", "checks", "store"},
    "service": {"common", "config", "providers", "store", "checks", "actions", "reports"},
    "bot": {"common", "config", "checks", "actions", "reports", "service"},
    "cli": {"common", "config", "checks", "actions", "service", "demo", "sandbox", "scheduling"},
    "scheduling": {"common", "config", "checks", "service", "store"},
    "demo": {"common", "config", "providers", "sandbox", "service"},
}
PROJECT = {*MAY_IMPORT, "app"}

SLACK_AND_WEB = {"slack_sdk", "slack_bolt", "starlette", "uvicorn"}
DATABASE = {"sqlalchemy", "alembic"}
# Third-party libraries a package must not reach for, whatever the project rules allow.
MAY_NOT_USE: dict[str, set[str]] = {
    "common": {"sqlalchemy", "alembic", "httpx", "jinja2", "yaml", *SLACK_AND_WEB},
    "config": {*DATABASE, "httpx", *SLACK_AND_WEB},
    "providers": {*DATABASE, "jinja2", *SLACK_AND_WEB},
    "checks": {*DATABASE, *SLACK_AND_WEB},
    "store": {"httpx", *SLACK_AND_WEB},
    "actions": SLACK_AND_WEB,
    "reports": SLACK_AND_WEB,
    "service": SLACK_AND_WEB,
    "bot": DATABASE,
    "cli": {*DATABASE, *SLACK_AND_WEB, "httpx"},
    "scheduling": {"alembic", *SLACK_AND_WEB, "httpx"},
}


def package_of_module(dotted: str) -> str:
    return dotted.split(".")[0]


def project_modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every module the project ships."""
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative.parts[0] in NOT_PROJECT or "migrations" in relative.parts:
            continue
        yield ".".join(relative.with_suffix("").parts).removesuffix(".__init__"), path


def imports(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of everything ``module`` (whose text is ``source``) imports."""
    parts = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module or ""
                continue
            base = parts[: len(parts) - node.level + (1 if is_package else 0)]
            yield node.lineno, ".".join([*base, node.module] if node.module else base)


def violations(module: str, source: str, *, label: str, is_package: bool = False) -> list[str]:
    package = package_of_module(module)
    allowed = MAY_IMPORT.get(package, set())
    found = []
    for line, name in imports(module, source, is_package=is_package):
        target = package_of_module(name)
        where = f"{label}:{line} imports {name}"
        if target in PROJECT and target != package and package != "app" and target not in allowed:
            found.append(f"{where}: {package}/ may not import {target}/")
        if target in MAY_NOT_USE.get(package, set()):
            found.append(f"{where}: {package}/ may not use {target}")
    return found


def file_violations(module: str, path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    return violations(module, source, label=str(path.relative_to(REPO)), is_package=path.name == "__init__.py")


def test_every_package_has_rules() -> None:
    """A new top-level package must say what it may import before it can ship."""
    packages = {package_of_module(module) for module, _ in project_modules()}
    assert packages == PROJECT, (
        f"packages without rules: {packages - PROJECT}; rules without package: {PROJECT - packages}"
    )


def test_no_module_breaks_the_import_rules() -> None:
    problems = [problem for module, path in project_modules() for problem in file_violations(module, path)]
    assert problems == [], "\n".join(problems)


def test_nothing_imports_the_composition_root() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for module, path in project_modules()
        if module != "app"
        for line, name in imports(module, path.read_text(encoding="utf-8"))
        if name == "app" or name.startswith("app.")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("checks.fake", "from store import repositories\n", "checks/ may not import store/"),
        ("checks.fake", "import slack_sdk\n", "checks/ may not use slack_sdk"),
        ("checks.fake", "def f():\n    from sqlalchemy import text\n", "checks/ may not use sqlalchemy"),
        ("providers.fake", "from checks.findings import Finding\n", "providers/ may not import checks/"),
        ("providers.fake", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import store\n", "may not import"),
        ("sandbox.fake", "from providers.http import CallStats\n", "sandbox/ may not import providers/"),
        ("bot.fake", "from store.models import Run\n", "bot/ may not import store/"),
        ("service.fake", "from bot.publish import make_client\n", "service/ may not import bot/"),
        ("cli.fake", "from app import build\n", "cli/ may not import app/"),
        ("demo.fake", "from cli.commands import run_cli\n", "demo/ may not import cli/"),
        ("common.fake", "from config.env import Settings\n", "common/ may not import config/"),
    ],
)
def test_a_forbidden_import_is_caught(module: str, source: str, expected: str) -> None:
    """The rule checker itself: each kind of forbidden import, written out, is reported."""
    found = violations(module, source, label="probe.py")
    assert any(expected in problem for problem in found), found


def test_allowed_imports_pass() -> None:
    source = "from providers.records import Invoice\nfrom common.money import decimal_text\nimport jinja2\n"
    assert violations("checks.fake", source, label="probe.py") == []
    assert violations("app", "from bot.server import serve\nimport sqlalchemy\n", label="app.py") == []


def test_relative_imports_resolve_to_their_package() -> None:
    source = "from . import base\nfrom .runner import RunResult\n"
    assert [name for _, name in imports("checks.fake", source)] == ["checks", "checks.runner"]
    assert [name for _, name in imports("checks", source, is_package=True)] == ["checks", "checks.runner"]
