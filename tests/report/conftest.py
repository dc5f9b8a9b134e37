"""Fixtures for the report tests: the deterministic audit-bundle vectors as files plus their
policy as command-line options, and reports rendered once per module (PDFs take seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from report_util import run_cli
from vectors_util import bundle_argv

VECTORS = Path(__file__).resolve().parents[2] / "test-vectors" / "audit_bundle"


class Rendered:
    """One `report` run: exit code, the PDF and HTML paths, the bundle path."""

    def __init__(self, name: str, where: Path, extra: list[str] | None = None) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.argv = bundle_argv(name, where)
        self.bundle = Path(self.argv[0])
        self.pdf, self.html = where / "report.pdf", where / "report.html"
        self.code, self.out, self.err = run_cli(
            ["report", *self.argv, "-o", str(self.pdf), "--html", str(self.html), "-q", *(extra or [])])

    def text(self) -> str:
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(self.pdf).pages)

    def reader(self) -> Any:
        from pypdf import PdfReader

        return PdfReader(self.pdf)


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    cache: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in cache:
            cache[name] = Rendered(name, tmp_path_factory.mktemp(name))
        return cache[name]
    return get
