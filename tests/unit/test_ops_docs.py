"""Docs whose code runs show the code the tests run, and cite files that exist (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Import names of the packages, as the docs may write them, and the folders they live in.
PACKAGE_FOLDERS = {"catalyst_api/": "entrypoints/", "catalyst_adapters/": "adapters/",
                   "catalyst_contracts/": "contracts/"}


def test_the_embedding_guide_shows_the_tested_example_file() -> None:
    guide = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    section = guide[guide.index("## A complete example"):]
    shown = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert shown is not None
    assert shown[1] == (ROOT / "docs" / "examples" / "embedding_example.py").read_text(encoding="utf-8")


def _cited_paths(text: str) -> set[str]:
    return {m for m in re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|md|yaml|txt|mako))`", text)}


def test_docs_cite_only_files_in_the_repository() -> None:
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for cited in _cited_paths(doc.read_text(encoding="utf-8")):
            candidates = [cited] + [folder + cited[len(name):] for name, folder in PACKAGE_FOLDERS.items()
                                    if cited.startswith(name)]
            if not any((ROOT / c).exists() for c in candidates):
                missing.append(f"{doc.name}: {cited}")
    assert not missing, missing
