"""Routing eval: does the chat run the right demo for a demo request, and none for a
question? ``eval/datasets/routing.jsonl`` (written with the router) and
``routing-heldout.jsonl`` (written blind, before the router was tuned on it) label each
message with the demo it asks for, or null."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from demos.routing import route

DATASETS = Path(__file__).parent / "datasets"


@dataclass
class RoutingReport:
    dataset: str
    demo_requests: int
    routed_right: int  # the named demo (and parameters, where labelled)
    questions: int
    demo_run_on_question: int  # the goal is 0
    misses: list[dict] = field(default_factory=list)

    @property
    def routed_share(self) -> float:
        return self.routed_right / max(1, self.demo_requests)

    def to_dict(self) -> dict:
        return {**self.__dict__, "routed_share": round(self.routed_share, 4)}


def evaluate_routing(path: Path) -> RoutingReport:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    report = RoutingReport(path.name, 0, 0, 0, 0)
    for row in rows:
        got = route(row["message"])
        want = row["demo"]
        if want is None:
            report.questions += 1
            wrong = got is not None
            report.demo_run_on_question += wrong
        else:
            report.demo_requests += 1
            wrong = got is None or got.tool != want or (
                "params" in row and got.params != row["params"])
            report.routed_right += not wrong
        if wrong:
            report.misses.append({"message": row["message"], "want": want,
                                  "got": got.tool if got else None})
    return report
