"""Expected-failures files: the known, explained divergences of one implementation.

Format (JSON, UTF-8)::

    {
      "format": "ario-conformance-expected-failures/1",
      "implementation": "ar-io-proof 0.2.0",
      "expected_failures": {
        "<case id>": "one-line reason",
        ...
      }
    }

Case ids are the runner's ids: a vector id for our corpus, ``<corpus>:<case>`` for a
converted corpus (``ar-io-proof:...``). The file must stay exact: a listed case that
passes is *unexpectedly passing*, and a listed case that did not run although its corpus
was loaded (unknown id, or a family the implementation does not declare) is *stale*;
both fail the run. Entries of corpora not loaded in this run are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from verifier.core.errors import Malformed
from verifier.core.intake import load

from verifier.core.limits import Limits

from .model import CaseResult, Outcome

_FILE_LIMITS = Limits(max_document_bytes=64 * 1024 * 1024)

FORMAT = "ario-conformance-expected-failures/1"


class ExpectedFailuresError(Exception):
    """The expected-failures file is unreadable or not in the format."""


@dataclass(frozen=True)
class ExpectedFailures:
    entries: dict[str, str]
    implementation: str = ""
    path: str = ""


def load_expected_failures(path: Path) -> ExpectedFailures:
    try:
        doc = load(Path(path).read_bytes(), _FILE_LIMITS)
    except OSError as exc:
        raise ExpectedFailuresError(f"{path}: unreadable: {exc.strerror or exc}") from None
    except Malformed as exc:
        raise ExpectedFailuresError(f"{path}: not strict JSON [{exc.reason.value}]: "
                                    f"{exc.detail}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ExpectedFailuresError(f'{path}: expected an object with "format": "{FORMAT}"')
    entries = doc.get("expected_failures")
    if not isinstance(entries, dict):
        raise ExpectedFailuresError(f'{path}: "expected_failures" must map case id -> reason')
    for cid, why in entries.items():
        if not isinstance(why, str) or not why.strip() or "\n" in why:
            raise ExpectedFailuresError(f"{path}: {cid}: the reason must be one non-empty line")
    return ExpectedFailures(dict(entries), str(doc.get("implementation", "")), str(path))


def dump_expected_failures(entries: dict[str, str], implementation: str) -> str:
    """The canonical text of an expected-failures file (sorted ids, 2-space indent)."""
    doc = {"format": FORMAT, "implementation": implementation,
           "expected_failures": dict(sorted(entries.items()))}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def apply_expected_failures(
    results: list[CaseResult], expected: ExpectedFailures, loaded_corpora: set[str],
) -> tuple[list[str], list[str]]:
    """Turn listed failures into xfail and listed passes into xpass, in place.

    Returns (stale, ignored): stale entries fail the run; ignored ones belong to a corpus
    that was not loaded. `loaded_corpora` holds the labels of loaded corpora ("" for ours).
    """
    by_id = {r.case.id: r for r in results}
    stale: list[str] = []
    ignored: list[str] = []
    for cid, why in sorted(expected.entries.items()):
        r = by_id.get(cid)
        if r is None:
            namespace = cid.split(":", 1)[0] if ":" in cid else ""
            (stale if namespace in loaded_corpora else ignored).append(cid)
            continue
        r.expected_failure_reason = why
        if r.outcome is Outcome.FAILED:
            r.outcome = Outcome.XFAIL
        elif r.outcome is Outcome.PASSED:
            r.outcome = Outcome.XPASS
            r.detail = "listed as an expected failure but passed; remove it from " + \
                (expected.path or "the expected-failures file")
        elif r.outcome is Outcome.NOT_APPLICABLE:
            stale.append(cid)
    return stale, ignored
