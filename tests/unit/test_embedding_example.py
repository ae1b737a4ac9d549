"""The example in docs/embedding.md runs, and does what the document says."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "embedding_example.py"


async def test_embedding_example_runs_the_whole_workflow_in_memory(capsys):
    spec = importlib.util.spec_from_file_location("embedding_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    kinds = await module.main()

    assert kinds == ["TaskAssigned", "CommentAdded", "TaskCompleted"]
    assert "Review the summer banner: completed, completed by Sam" in capsys.readouterr().out
