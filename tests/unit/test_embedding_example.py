"""The examples of docs/embedding.md run, and do what the document says."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "embedding_example.py"


def example(name):
    """docs/examples/<name>.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLE.with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_embedding_example_runs_the_whole_workflow_in_memory(capsys):
    module = example("embedding_example")

    kinds = await module.main()

    assert kinds == ["TaskAssigned", "CommentAdded", "TaskCompleted"]
    assert "Review the summer banner: completed, completed by Sam" in capsys.readouterr().out


async def test_reports_example_ingests_and_reads_both_reports(capsys):
    module = example("reports_example")

    outcome = await module.main()

    assert outcome == {"inserted": 14, "spend": 175, "top_ad": "Banner a"}
    out = capsys.readouterr().out
    assert "stored 14 rows" in out and "2024-03-07: spend 25" in out and "top ad: Banner a" in out


async def test_alerts_example_configures_runs_and_resolves(capsys):
    module = example("alerts_example")

    outcome = await module.main()

    assert outcome == {"created": 1, "ad": "b", "task": "completed",
                       "events": ["AlertFired", "TaskAssigned", "AlertInstanceClosed", "TaskCompleted"]}
    out = capsys.readouterr().out
    assert "CPLPV over 5: next run 2024-03-09 06:00 UTC" in out
    assert "1 instance: ad b, CPLPV 12.5 (account 2.272727" in out and "its task is completed" in out


async def test_scorer_example_swaps_the_scorer_through_the_container(capsys):
    module = example("scorer_example")

    outcome = await module.main()

    assert outcome == {"score": 0.75, "label": "hot"}
    assert "buyer@shop.example: 0.75 (hot), expected deal of 30,000" in capsys.readouterr().out
