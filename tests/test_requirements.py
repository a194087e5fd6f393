"""The two locked requirement sets: production carries no test tools, development adds them at
the same versions, and every pin carries hashes so `pip install --require-hashes` works."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {canonical(n): version for n, version in PIN.findall(text)}


def requirement_names(specs: list[str]) -> set[str]:
    return {canonical(re.split(r"[\[<>=!~;\s]", spec, maxsplit=1)[0]) for spec in specs}


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# What only tests and linting need (`requests` is in the dev extra too, but the stripe SDK needs
# it in production anyway).
TOOLS = {
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "playwright",
    "hypothesis",
    "time-machine",
    "ruff",
    "schemathesis",
    "axe-playwright-python",
    "mypy",
    "django-stubs",
    "types-lxml",
}


def test_production_pins_every_dependency_and_no_development_tool():
    production = pins("production.txt")
    assert requirement_names(PROJECT["dependencies"]) <= production.keys()
    assert requirement_names(PROJECT["optional-dependencies"]["dev"]) >= TOOLS
    assert not TOOLS & production.keys()


def test_development_adds_the_tools_at_the_production_versions():
    production, development = pins("production.txt"), pins("development.txt")
    assert requirement_names(PROJECT["optional-dependencies"]["dev"]) <= development.keys()
    assert {name: development.get(name) for name in production} == production


def test_every_pin_carries_a_hash():
    for name in ("production.txt", "development.txt"):
        text = (ROOT / "requirements" / name).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1])
        for block in (b for b in blocks if PIN.match(b)):
            assert "--hash=sha256:" in block, f"{name}: {block.splitlines()[0]} has no hash"


def test_make_test_and_pre_commit_type_check_the_whole_project():
    makefile = (ROOT / "Makefile").read_text()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert prerequisites and "typecheck" in prerequisites.group(1).split()
    assert re.search(r"^typecheck:.*\n\t\$\(BIN\)/mypy$", makefile, re.MULTILINE)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"billing", "storefront", "stripe_emulator"} <= set(config["files"])
    assert config["disallow_untyped_defs"] and "ignore_errors" not in config
    hooks = (ROOT / ".pre-commit-config.yaml").read_text()
    mypy_hook = hooks.split("- id: mypy", 1)[1].split("- id:", 1)[0]
    assert "entry: .venv/bin/mypy\n" in mypy_hook and "pass_filenames: false" in mypy_hook
