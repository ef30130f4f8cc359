"""Triage quality and speed on the held-out test split of data/triage/grievances.jsonl.

    .venv/bin/python bench/triage.py            # figures into docs/benchmarks.md (section "triage")

The classifier learns only the "examples" split; the "test" split is never shown to it.
Reports top-1 accuracy (leaf category and top-level group), macro-F1 over the leaf
categories, GBV recall and precision, per-language accuracy, load time, and warm latency
per grievance (p50/p95). Targets: top-1 >= 85%, GBV recall 100%, p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report import BENCHMARKS, machine, percentile, verdict, write_section

from ticketing.triage import build_triager, default_labels
from ticketing.triage.triager import EXAMPLES_FILE, Triage, load_examples

WARMUP = 5
TARGET_TOP1 = 0.85
TARGET_P95_MS = 100.0


@dataclass(frozen=True)
class Case:
    text: str
    category: str
    gbv: bool
    language: str
    script: str


def test_split(path: Path = EXAMPLES_FILE) -> list[Case]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Case(r["text"], r["category"], r["gbv"], r["language"], r["script"]) for r in rows if r["split"] == "test"]


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Mean F1 over the categories that occur in the truth or the predictions."""
    codes = {code for pair in pairs for code in pair}
    scores = []
    for code in codes:
        tp = sum(1 for truth, guess in pairs if truth == guess == code)
        fp = sum(1 for truth, guess in pairs if guess == code != truth)
        fn = sum(1 for truth, guess in pairs if truth == code != guess)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def group(code: str) -> str:
    return code.split(".")[0]


def share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total:.1%})" if total else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the figures without writing docs/benchmarks.md")
    parser.add_argument("--misses", action="store_true", help="list the misclassified test items")
    args = parser.parse_args()
    cases = test_split()
    labels = default_labels()
    started = time.perf_counter()
    triager = build_triager(labels)
    load_seconds = time.perf_counter() - started
    for case in cases[:WARMUP]:
        triager.triage(case.text)
    results: list[tuple[Case, Triage, float]] = []
    for case in cases:
        began = time.perf_counter()
        result = triager.triage(case.text)
        results.append((case, result, (time.perf_counter() - began) * 1000))

    pairs = [(case.category, result.category) for case, result, _ in results]
    top1 = sum(1 for truth, guess in pairs if truth == guess)
    top_group = sum(1 for truth, guess in pairs if group(truth) == group(guess))
    in_top3 = sum(1 for case, result, _ in results if case.category in {c.code for c in result.categories[:3]})
    gbv_cases = [(case, result) for case, result, _ in results if case.gbv]
    flagged = [(case, result) for case, result, _ in results if result.gbv]
    caught = sum(1 for _, result in gbv_cases if result.gbv)
    true_flags = sum(1 for case, _ in flagged if case.gbv)
    latencies = [ms for _, _, ms in results]
    by_language: Counter[str] = Counter()
    right_by_language: Counter[str] = Counter()
    for case, result, _ in results:
        key = f"{case.language}-{case.script}"
        by_language[key] += 1
        right_by_language[key] += case.category == result.category
    f1 = macro_f1(pairs)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    lines = [
        f"## Triage ({date.today().isoformat()})",
        "",
        f"- Machine: {machine()}",
        (
            f"- Model: {triager.encoder.name}; {len(labels)} leaf categories from the configured tree; learnt from "
            f"{len(load_examples())} labelled examples; tested on the {len(cases)} held-out grievances "
            "of `data/triage/grievances.jsonl`"
        ),
        f"- Load (models and examples): {load_seconds:.1f} s",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| top-1 accuracy (leaf category) | {share(top1, len(cases))} | >= 85%: {verdict(top1 / len(cases) >= TARGET_TOP1)} |",
        f"| top-1 accuracy (top-level group) | {share(top_group, len(cases))} | |",
        f"| right category among the first three | {share(in_top3, len(cases))} | |",
        f"| macro-F1 (leaf categories) | {f1:.3f} | |",
        f"| GBV recall | {share(caught, len(gbv_cases))} | 100%: {verdict(caught == len(gbv_cases))} |",
        f"| GBV precision (flags that were GBV) | {share(true_flags, len(flagged))} | |",
        f"| latency per grievance, warm, p50 / p95 | {p50:.1f} / {p95:.1f} ms | p95 < 100 ms: {verdict(p95 < TARGET_P95_MS)} |",
        "",
        "Top-1 accuracy by language and script: "
        + ", ".join(f"{key} {share(right_by_language[key], n)}" for key, n in sorted(by_language.items())),
    ]
    text = "\n".join(lines)
    print(text)
    if args.misses:
        for case, result, _ in results:
            if case.category != result.category or case.gbv != result.gbv:
                print(f"- {case.category} -> {result.category} gbv={case.gbv}/{result.gbv} {case.text[:110]!r}")
    if not args.no_write:
        write_section("triage", text, BENCHMARKS)
        print(f"written to {BENCHMARKS}")


if __name__ == "__main__":
    main()
