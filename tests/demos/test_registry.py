import threading
import time

import pytest
from pydantic import Field
from pydantic.dataclasses import dataclass

from demos import perceptron
from demos.base import Cancelled, DemoResult, check_cancel
from demos.registry import (
    DemoRunner,
    DemoTimeout,
    InvalidParameters,
    Tool,
    UnknownTool,
    run_id,
)
from studyhall.core.errors import Busy

PERCEPTRON = Tool("perceptron", perceptron.DESCRIPTION, perceptron.LESSON,
                  perceptron.Config, perceptron.run)


@dataclass(frozen=True)
class SlowConfig:
    steps: int = Field(1000, ge=1, le=100000, description="steps of 10 ms")
    seed: int = Field(0, ge=0)


def slow_run(config: SlowConfig, cancel=None) -> DemoResult:
    for _ in range(config.steps):
        check_cancel(cancel)
        time.sleep(0.01)
    return DemoResult("slow", {"steps": float(config.steps)}, [], "Slept. Lesson 0.", "x.md")


SLOW = Tool("slow", "sleeps", "x.md", SlowConfig, slow_run)


@pytest.fixture
def runner(tmp_path):
    return DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON, "slow": SLOW},
                      timeout_s=5)


def test_schema_is_json_schema_with_bounds_and_descriptions():
    schema = PERCEPTRON.schema()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["properties"]["epochs"]["minimum"] == 1
    assert schema["properties"]["epochs"]["maximum"] == 1000
    assert schema["properties"]["gate"]["enum"] == ["and", "or", "nand", "xor"]
    assert schema["properties"]["learning_rate"]["description"]


def test_out_of_range_parameter_names_field_and_range():
    with pytest.raises(InvalidParameters) as err:
        PERCEPTRON.parse({"epochs": 0})
    assert err.value.errors == [
        {"field": "epochs", "message": "epochs must be between 1 and 1000, got 0"}
    ]


def test_wrong_choice_and_unknown_parameter_are_refused():
    with pytest.raises(InvalidParameters, match="gate must be one of and, or, nand, xor"):
        PERCEPTRON.parse({"gate": "nor"})
    with pytest.raises(InvalidParameters, match="colour is not a parameter of perceptron"):
        PERCEPTRON.parse({"colour": "red"})


def test_unknown_tool_lists_the_known_ones(runner):
    with pytest.raises(UnknownTool, match="perceptron, slow"):
        runner.run("resnet")


def test_run_is_kept_and_the_same_parameters_come_from_the_cache(runner):
    first = runner.run("perceptron", {"gate": "or"})
    assert not first.cached and first.result.metrics["accuracy"] == 1.0
    again = runner.run("perceptron", {"gate": "or", "epochs": 20})  # 20 is the default
    assert again.cached and again.run_id == first.run_id
    assert again.result.metrics == first.result.metrics
    assert [f.png for f in again.result.figures] == [f.png for f in first.result.figures]
    other = runner.run("perceptron", {"gate": "and"})
    assert other.run_id != first.run_id and not other.cached


def test_cache_key_ignores_how_parameters_were_spelled():
    a = PERCEPTRON.parse({"learning_rate": 0.1, "gate": "and"})
    b = PERCEPTRON.parse({"gate": "and"})
    assert run_id("perceptron", a) == run_id("perceptron", b)


def test_figures_are_served_by_run_and_name_only(runner):
    run = runner.run("perceptron", {})
    path = runner.figure_path(run.run_id, run.result.figures[0].name)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert runner.figure_path(run.run_id, "../run") is None
    assert runner.figure_path("../../etc", "passwd") is None
    assert runner.figure_path(run.run_id, "missing") is None


def test_a_run_past_the_timeout_is_stopped(tmp_path):
    runner = DemoRunner(tmp_path, tools={"slow": SLOW}, timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(DemoTimeout, match="0.2 s limit"):
        runner.run("slow", {"steps": 10000})
    assert time.monotonic() - started < 2
    assert runner.queue.inside == 0


def test_cancel_stops_a_run_and_keeps_nothing(runner):
    with pytest.raises(Cancelled):
        runner.run("slow", {"steps": 500}, cancel=lambda: True)
    assert not runner.store.exists() or not any(runner.store.iterdir())


def test_a_full_queue_turns_runs_away(tmp_path):
    runner = DemoRunner(tmp_path, tools={"slow": SLOW}, max_waiting=0)
    worker = threading.Thread(target=runner.run, args=("slow", {"steps": 50}))
    worker.start()
    while runner.queue.inside == 0:
        time.sleep(0.001)
    with pytest.raises(Busy):
        runner.run("slow", {"steps": 60})
    worker.join()


def test_a_rule_across_parameters_is_reported_in_its_own_words():
    from demos import transformer

    tool = Tool("transformer", transformer.DESCRIPTION, transformer.LESSON,
                transformer.Config, transformer.run)
    with pytest.raises(InvalidParameters) as err:
        tool.parse({"n_embd": 50, "n_head": 4})
    assert err.value.errors == [{"field": "parameters", "message":
                                 "n_embd must be divisible by n_head, got n_embd=50, n_head=4"}]


def test_kept_runs_are_evicted_by_age_and_by_total_size(tmp_path):
    import os

    runner = DemoRunner(tmp_path, tools={"perceptron": PERCEPTRON}, keep_days=1, keep_mb=1)
    old = runner.run("perceptron", {"gate": "and"})
    os.utime(tmp_path / old.run_id, (0, 0))  # kept since 1970
    new = runner.run("perceptron", {"gate": "or"})
    assert runner.load(old.run_id) is None and runner.load(new.run_id) is not None
    runner.keep_bytes = 1  # nothing fits: all but the run just made go
    third = runner.run("perceptron", {"gate": "nand"})
    assert runner.load(new.run_id) is None and runner.load(third.run_id) is not None
