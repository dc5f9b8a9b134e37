"""HTML to PDF/A-3u with WeasyPrint, offline: a URL fetcher that serves only the package's
own files (stylesheet, fonts) and refuses everything else, attachments with fixed dates.

Reproducible: with the same HTML, attachments and `SOURCE_DATE_EPOCH` (fontTools reads it
for font-subset timestamps) the bytes are identical across processes; the PDF /ID is a
hash of the content. Without it, the font timestamps are pinned to the report's
generated-at time for the render, so that time is the only thing that varies. Imported only by the `report` command (weasyprint is heavy).
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .model import Attachment

PACKAGE_DIR = Path(__file__).resolve().parent
PDF_VARIANT = "pdf/a-3u"
_RELATIONSHIP = {"application/zip": "Source"}


class PackageOnlyFetcher(URLFetcher):
    """Serves file: URLs inside this package; refuses (and records) every other URL, so
    rendering never touches the network or the rest of the file system."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file",))
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        path = self.resolve(url)
        if path is None:
            self.refused.append(url[:200])
            raise ValueError(f"refused: {url[:200]!r} is not a file of the report package")
        return URLFetcherResponse(path.as_uri(), path.read_bytes())

    @staticmethod
    def resolve(url: str) -> Path | None:
        """The package file `url` names, or None (other schemes, hosts, or outside)."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(unquote(parts.path)).resolve()
        except (OSError, ValueError):
            return None
        if not path.is_relative_to(PACKAGE_DIR) or not path.is_file():
            return None
        return path


@contextlib.contextmanager
def _font_time(stamp: datetime):
    """$SOURCE_DATE_EPOCH = `stamp` while fontTools subsets, unless the user set it."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(int(stamp.timestamp()))
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def _unique_af(_document: object, pdf: object) -> None:
    """WeasyPrint 70 lists each attachment twice in the catalog's /AF (once from the name
    tree, once from the file specs); PDF/A-3 wants each associated file once."""
    catalog = getattr(pdf, "catalog", None)
    if catalog is None or "AF" not in catalog:
        return
    seen: list[object] = []
    for ref in catalog["AF"]:
        if ref not in seen:
            seen.append(ref)
    catalog["AF"][:] = seen


def render_pdf(html_text: str, target: Path, attachments: Sequence[Attachment],
               stamp: datetime) -> list[str]:
    """Write the PDF of `html_text` to `target` with `attachments` (dated `stamp`, UTC);
    returns the URLs the fetcher refused (none for a well-formed report)."""
    fetcher = PackageOnlyFetcher()
    doc = weasyprint.HTML(string=html_text, base_url=PACKAGE_DIR.as_uri() + "/", url_fetcher=fetcher)
    naive = stamp.replace(tzinfo=None)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_font_time(stamp))
        files = []
        for a in attachments:
            if not a.included or a.path is None:
                continue
            fh = stack.enter_context(open(a.path, "rb"))
            files.append(weasyprint.Attachment(
                file_obj=fh, name=a.name, description=a.description, created=naive,
                modified=naive, relationship=_RELATIONSHIP.get(a.mime, "Data"),
                url_fetcher=fetcher))
        doc.write_pdf(str(target), pdf_variant=PDF_VARIANT, attachments=files,
                      pdf_tags=True, uncompressed_pdf=False, finisher=_unique_af)
    return fetcher.refused
