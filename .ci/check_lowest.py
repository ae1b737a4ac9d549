"""Check that the running environment holds exactly the lowest version pyproject.toml allows of
every dependency (the main ones and those of the `test`, `postgres`, `redis` and `lint` extras), so the CI
step that runs the tests on them tests what the ranges promise (.ci/run, docs/adr/0006).

    .venv-lowest/bin/python .ci/check_lowest.py
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

EXTRAS = ("test", "postgres", "redis", "lint")


def declared(pyproject: Path) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def problems(requirements: list[Requirement]) -> list[str]:
    found = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate():
            continue
        lows = [s.version for s in req.specifier if s.operator == ">="]
        if len(lows) != 1:
            found.append(f"{req}: needs exactly one '>=' lower bound")
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            found.append(f"{req.name}: not installed")
            continue
        if Version(installed) != Version(lows[0]):
            found.append(f"{req.name}: {installed} installed, the lower bound is {lows[0]}")
    return found


def main() -> int:
    requirements = declared(Path(__file__).resolve().parent.parent / "pyproject.toml")
    found = problems(requirements)
    for line in found:
        print(f"check_lowest: {line}", file=sys.stderr)
    if not found:
        print(f"check_lowest: all {len(requirements)} declared lower bounds are installed")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
