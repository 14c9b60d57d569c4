"""Eval reports: the numbers as JSON, and the same as Markdown and a self-contained HTML
page with plots (a metric per configuration, the latency distribution) and every
failure listed question by question.

    paths = write_retrieval_report(results, out_dir, title="genai-basics")
    paths = write_answer_report(report, out_dir, title="genai-basics")
"""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path

from demos.base import Figure, render
from eval.answers import AnswerReport
from eval.retrieval import RetrievalResult, format_table

RETRIEVAL_METRICS = ("hit_at_5", "recall_at_10", "mrr_at_10", "ndcg_at_10")


def _bars(name: str, title: str, groups: list[str], series: dict[str, list[float]],
          ylabel: str) -> Figure:
    def draw(fig):
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        for i, (label, values) in enumerate(series.items()):
            xs = [g + i * width for g in range(len(groups))]
            ax.bar(xs, values, width=width, label=label)
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], groups, rotation=20)
        ax.set(ylabel=ylabel, ylim=(0, 1))
        ax.legend(fontsize=7)
    return render(draw, name=name, title=title, size=(6.5, 3.8))


def _histogram(name: str, title: str, samples: dict[str, list[float]], xlabel: str) -> Figure:
    def draw(fig):
        ax = fig.add_subplot()
        for label, values in samples.items():
            if values:
                ax.hist(values, bins=30, alpha=0.6, label=label)
        ax.set(xlabel=xlabel, ylabel="questions")
        ax.legend(fontsize=7)
    return render(draw, name=name, title=title, size=(6.5, 3.5))


def _write(out: Path, stem: str, data: dict, markdown: str, figures: list[Figure],
           title: str) -> dict[str, Path]:
    """report.json, report.md (figures beside it as PNG) and report.html (figures inline)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))
    for figure in figures:
        (out / f"{figure.name}.png").write_bytes(figure.png)
    images = "\n\n".join(f"![{f.title}]({f.name}.png)" for f in figures)
    (out / f"{stem}.md").write_text(f"# {title}\n\n{markdown}\n\n{images}\n")
    inline = "".join(
        f'<figure><img alt="{html.escape(f.title)}" src="data:image/png;base64,'
        f'{base64.b64encode(f.png).decode()}"><figcaption>{html.escape(f.title)}'
        f"</figcaption></figure>" for f in figures)
    page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem "
            "auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:.25rem .5rem;text-align:left;vertical-align:top}img{max-width:100%}"
            f"</style><h1>{html.escape(title)}</h1>{_markdown_tables_to_html(markdown)}"
            f"{inline}</html>")
    (out / f"{stem}.html").write_text(page)
    return {kind: out / f"{stem}.{kind}" for kind in ("json", "md", "html")}


def _markdown_tables_to_html(markdown: str) -> str:
    """The report's own small Markdown (headings, tables, paragraphs) as HTML."""
    parts, table = [], []

    def flush():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = [[html.escape(c.strip()) for c in r.strip().strip("|").split("|")]
                     for r in rows]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
                           for r in cells[1:])
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("## "):
            parts.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.strip():
            parts.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(parts)


def _cell(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_retrieval_report(results: list[RetrievalResult], out: Path, *,
                           title: str) -> dict[str, Path]:
    configs = [r.mode for r in results]
    figures = [
        _bars("metrics", "Retrieval quality per configuration", configs,
              {m: [getattr(r, m) for r in results] for m in RETRIEVAL_METRICS}, "score"),
        _histogram("latency", "Search latency per question",
                   {r.mode: r.latencies_ms for r in results}, "milliseconds"),
    ]
    lines = [format_table(results), "",
             "Latency is per search, in this process, after the first mode warmed the "
             "embedder and its query cache; `make bench` measures it properly."]
    for r in results:
        lines += ["", f"## Misses: {r.mode} ({len(r.misses)} not in the top 5)", "",
                  "| id | question | gold | first relevant rank | top 3 |", "|---|---|---|---|---|"]
        lines += [f"| {m['id']} | {_cell(m['question'])} | {_cell('; '.join(m['gold']))} | "
                  f"{m['first_relevant_rank'] or '–'} | {_cell('; '.join(m['top']))} |"
                  for m in r.misses]
    data = {"kind": "retrieval", "results": [r.to_dict() for r in results]}
    return _write(out, "report", data, "\n".join(lines), figures, f"Retrieval eval: {title}")


def write_answer_report(report: AnswerReport, out: Path, *, title: str) -> dict[str, Path]:
    by_tag: dict[str, list[float]] = defaultdict(list)
    for record in report.records:
        if record.answerable:
            for tag in record.tags:
                by_tag[tag].append(float(bool(record.correct)))
    tags = sorted(by_tag)
    first = [r.first_token_ms / 1000 for r in report.records if r.first_token_ms is not None]
    figures = [
        _bars("correct_by_tag", "Answerable questions answered correctly, by tag", tags,
              {"correct with citation": [sum(v) / len(v) for v in (by_tag[t] for t in tags)]},
              "share"),
        _histogram("latency", "Time to first token and to the whole answer",
                   {"first token": first,
                    "whole answer": [r.total_ms / 1000 for r in report.records]}, "seconds"),
    ]
    lines = [report.table(), "", "## Answerable questions not answered correctly", "",
             "| id | tags | question | why | answer |", "|---|---|---|---|---|"]
    for r in report.records:
        if r.answerable and not r.correct:
            why = ("refused" if r.refused else
                   f"key facts {r.key_fact_recall:.0%}"
                   + ("" if r.citation_correct else ", no correct citation"))
            lines.append(f"| {r.id} | {', '.join(r.tags)} | {_cell(r.question)} | {why} | "
                         f"{_cell(r.answer)} |")
    lines += ["", "## Out-of-course questions answered", "",
              "| id | tags | question | answer |", "|---|---|---|---|"]
    lines += [f"| {r.id} | {', '.join(r.tags)} | {_cell(r.question)} | {_cell(r.answer)} |"
              for r in report.records if not r.answerable and not r.refused]
    data = {"kind": "answers", **report.to_dict()}
    return _write(out, "report", data, "\n".join(lines), figures, f"Answer eval: {title}")


def write_draft_report(drafts: list[dict], out: Path, *, title: str) -> dict[str, Path]:
    """The questions a draft job wrote, each with its key fact and the passage it came from,
    for the instructor to review."""
    lines = [f"{len(drafts)} draft questions, each from one passage of the course. Review "
             "them (fix, drop, add key facts), then save the set as "
             "`evals/<course>/questions.jsonl` to use it in evals.", "",
             "| id | question | key fact | from |", "|---|---|---|---|"]
    lines += [f"| {d['id']} | {_cell(d['question'])} | {_cell('; '.join(d['key_facts']))} | "
              f"{_cell(d['source'])} |" for d in drafts]
    data = {"kind": "draft", "questions": drafts}
    return _write(out, "report", data, "\n".join(lines), [], f"Draft question set: {title}")
