"""README.md and docs/*.md link only inside the repository, and every such link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_INLINE = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target) and ![alt](target)
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)  # [label]: target
_BARE = re.compile(r"(?:https?|ftp)://|www\.", re.I)  # an address written out


def links(text: str) -> list[str]:
    """Link targets of a Markdown text (inline, image and reference links), code blocks left out."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return _INLINE.findall(text) + _REFERENCE.findall(text)


def test_links_are_found():
    assert links("see [a](docs/a.md) and ![b](images/b.png)\n\n[c]: x.md\n```\n[d](e.md)\n```") == [
        "docs/a.md", "images/b.png", "x.md"]


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_doc_links_stay_inside_the_repository(doc):
    text = doc.read_text()
    outside = [m.group(0) for m in _BARE.finditer(text)]
    assert not outside, f"{doc.relative_to(ROOT)}: addresses outside the repository: {outside}"
    for target in links(text):
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I), f"{doc.name}: link {target!r} has a scheme"
        path = target.split("#", 1)[0]
        if not path:
            continue  # an anchor in the same page
        resolved = (doc.parent / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.relative_to(ROOT)}: link {target!r} leaves the repository"
        assert resolved.exists(), f"{doc.relative_to(ROOT)}: link {target!r} points at nothing"


def test_docs_exist():
    assert (ROOT / "docs" / "architecture.md").is_file() and (ROOT / "docs" / "tutorial.md").is_file()
