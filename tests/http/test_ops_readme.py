"""The README's curl walk-through runs unattended as written (issue 13), and every answer it shows
is a line of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_serve import _free_port

ROOT = Path(__file__).resolve().parents[2]


def walkthrough_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A first session with curl"):text.index("## Documentation")]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


@pytest.mark.skipif(sys.platform == "win32", reason="bash and curl")
@pytest.mark.parametrize("index", [0, 1], ids=["demo", "by-hand"])
def test_readme_walkthrough_runs_as_written(index: int, tmp_path: Path) -> None:
    script = walkthrough_blocks()[index]
    port = _free_port()  # the only change: another port than 8000, which may be taken here
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
    env.update(CATALYST_DATA_DIR=str(tmp_path / "data"), CATALYST_PORT=str(port),
               CATALYST_LOG_LEVEL="WARNING")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    answers = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(answers) >= 6, done.stdout[-2000:]
    for line in answers:  # one JSON answer a line: none runs into the next
        body = json.loads(line)
        assert body["status_code"] < 400, line
