"""The project's own documentation: the REST API reference matches the OpenAPI document, every
link between the docs resolves, and no file points to design notes outside the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from storefront.management.commands.write_api_docs import OUTPUT, openapi_document, render

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Design notes that live beside the repository, not in it: a reader of a clone has none of them.
OUTSIDE = re.compile(
    r"\b(?:PRODUCT|API|STRIPE|PEERS|STYLE|BILLING_API_3SCALE)\.md\b"
    r"|\.\./shared\b|\bshared/(?:docs|stripe)\b|/work/shared\b|\bfixtures3\.json\b"
)
SKIPPED_DIRS = {".git", ".venv", ".lock-venv", "node_modules", "staticfiles", "__pycache__"}
SKIPPED_DIRS |= {".demo", ".emulator", ".cache", ".hypothesis", ".ruff_cache", "artifacts"}


def test_the_api_reference_is_what_the_openapi_document_says():
    assert OUTPUT == DOCS / "api.md"
    assert OUTPUT.read_text() == render(openapi_document()), (
        "docs/api.md differs from the OpenAPI document: run `python manage.py write_api_docs`."
    )


def test_the_check_command_fails_on_a_stale_reference(tmp_path, monkeypatch):
    stale = tmp_path / "api.md"
    stale.write_text(OUTPUT.read_text().replace("### `GET /billing/payouts`", "### gone"))
    monkeypatch.setattr("storefront.management.commands.write_api_docs.OUTPUT", stale)
    with pytest.raises(CommandError, match="out of date"):
        call_command("write_api_docs", "--check")
    call_command("write_api_docs")
    call_command("write_api_docs", "--check")
    assert stale.read_text() == OUTPUT.read_text()


def test_the_reference_covers_every_operation():
    text = OUTPUT.read_text()
    for path, operations in openapi_document()["paths"].items():
        for method in operations:
            relative = path.removeprefix("/api/v2/storefront") or "/"
            assert f"### `{method.upper()} {relative}`" in text


def test_every_relative_link_in_the_docs_and_readme_resolves():
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_docs_index_lists_every_page():
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, page.name


def _project_files():
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS]
        for name in files:
            yield Path(directory) / name


def test_no_file_points_outside_the_repository():
    offenders = []
    for path in _project_files():
        if path == Path(__file__).resolve():
            continue  # its examples and pattern name what it looks for
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_pattern_catches_what_it_is_for():
    # Written in two halves, so this file is not itself a pointer outside the repository.
    for line in [
        "see ../" + "shared/docs/API.md",
        "(PRODUCT" + ".md section 3)",
        "STRIPE" + ".md says",
        "/work/" + "shared/stripe/fixtures3.json",
    ]:
        assert OUTSIDE.search(line), line
    for line in ["docs/api.md", "docs/billing-api.md", "a shared cache", "README.md"]:
        assert not OUTSIDE.search(line), line
