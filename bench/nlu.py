"""NLU cross-validation: how well the bot's pipeline recognises each intent, in each language
the citizens write, into docs/nlu.md.

Runs `rasa test nlu --cross-validation` on data/nlu with config.yml, keeping every test
prediction, and reports per-intent precision, recall and F1 with the most frequent
confusions, then the same per language: English (data/nlu/*.yml), Nepali in Devanagari
(data/nlu/devanagari/) and romanised Nepali (data/nlu/romanised/), against their targets.
It trains one model per fold, so it takes several minutes; run it after changing the NLU
data or pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
NLU_DATA = PROJECT_ROOT / "data" / "nlu"
REPORT = PROJECT_ROOT / "docs" / "nlu.md"

# Where each language's examples live, its name in the report, and its macro-F1 target.
LANGUAGES = {
    "en": ("English", NLU_DATA, 0.80),
    "ne": ("Nepali, Devanagari", NLU_DATA / "devanagari", 0.85),
    "rom": ("Nepali, romanised", NLU_DATA / "romanised", 0.80),
}
# "[span](entity)" and "[span]{...}" annotations, as the test results give the plain text.
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Prediction:
    text: str
    intent: str
    predicted: str


def cross_validate(folds: int, out: Path) -> tuple[dict[str, Any], list[Prediction]]:
    subprocess.run(
        [str(RASA), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml"]
        + ["--cross-validation", "--folds", str(folds), "--successes", "--out", str(out)],
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    report: dict[str, Any] = json.loads((out / "intent_report.json").read_text())
    results = [
        Prediction(item["text"], item["intent"], (item.get("intent_prediction") or {}).get("name") or "")
        for name in ("intent_successes.json", "intent_errors.json")
        if (out / name).exists()
        for item in json.loads((out / name).read_text())
    ]
    return report, results


def languages_of_examples() -> dict[str, str]:
    """Each training example's plain text, and the language whose folder holds it."""
    found: dict[str, str] = {}
    for code, (_, folder, _) in LANGUAGES.items():
        for path in sorted(folder.glob("*.yml")):
            for item in yaml.safe_load(path.read_text("utf-8")).get("nlu", []):
                for line in str(item.get("examples") or "").splitlines():
                    if line.strip().startswith("- "):
                        found[_ANNOTATION.sub(r"\1", line.strip()[2:]).strip()] = code
    return found


def scores(predictions: list[Prediction]) -> dict[str, tuple[int, float, float, float]]:
    """Per intent: support, precision, recall, F1."""
    support = Counter(p.intent for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    right = Counter(p.intent for p in predictions if p.predicted == p.intent)
    table = {}
    for intent, count in support.items():
        precision = right[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = right[intent] / count
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[intent] = (count, precision, recall, f1)
    return table


def macro_f1(table: dict[str, tuple[int, float, float, float]]) -> float:
    return sum(f1 for _, _, _, f1 in table.values()) / len(table) if table else 0.0


def by_language(predictions: list[Prediction]) -> dict[str, list[Prediction]]:
    language_of = languages_of_examples()
    grouped: dict[str, list[Prediction]] = defaultdict(list)
    for prediction in predictions:
        grouped[language_of.get(prediction.text.strip(), "en")].append(prediction)
    return grouped


def misheard(predictions: list[Prediction]) -> str:
    """The examples heard as another intent, grouped by language and intent."""
    lines = []
    for code, tested in by_language(predictions).items():
        lines.append(f"# {LANGUAGES[code][0]}")
        for p in sorted(tested, key=lambda p: (p.intent, p.predicted)):
            if p.predicted != p.intent:
                lines.append(f"{p.intent} -> {p.predicted}: {p.text}")
    return "\n".join(lines) + "\n"


def render(report: dict[str, Any], predictions: list[Prediction], folds: int) -> str:
    grouped = by_language(predictions)
    per_language = {code: scores(grouped[code]) for code in LANGUAGES}
    intents = sorted(
        (name, values)
        for name, values in report.items()
        if isinstance(values, dict) and "f1-score" in values and name not in ("macro avg", "weighted avg", "micro avg")
    )
    lines = [
        "# NLU cross-validation",
        "",
        "Written by `bench/nlu.py`; do not edit by hand.",
        "",
        (
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.processor() or platform.machine()},"
            f" {os.cpu_count()} CPUs"
        ),
        (
            f"- Data: `data/nlu` ({len(predictions)} examples), pipeline `config.yml`, {folds}-fold cross-validation"
            " (every example scored once, by the model that did not see it)"
        ),
        (
            f"- All languages: accuracy {report.get('accuracy', 0):.3f}; macro F1 {report['macro avg']['f1-score']:.3f};"
            f" weighted F1 {report['weighted avg']['f1-score']:.3f}"
        ),
        "",
        "## By language",
        "",
        "| language | examples | accuracy | macro F1 | target | |",
        "|---|---|---|---|---|---|",
    ]
    for code, (name, _, target) in LANGUAGES.items():
        tested = grouped[code]
        accuracy = sum(p.predicted == p.intent for p in tested) / len(tested) if tested else 0.0
        f1 = macro_f1(per_language[code])
        verdict = "met" if f1 >= target else "**not met**"
        lines.append(f"| {name} | {len(tested)} | {accuracy:.3f} | {f1:.3f} | ≥ {target:.2f} | {verdict} |")
    lines += [
        "",
        "## By intent",
        "",
        "| intent | examples | precision | recall | F1 | F1 English | F1 Devanagari | F1 romanised | confused with |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, values in intents:
        confused = ", ".join(f"{other} ({count})" for other, count in (values.get("confused_with") or {}).items())
        by_script = " | ".join(
            f"{per_language[code][name][3]:.2f}" if name in per_language[code] else "-" for code in LANGUAGES
        )
        lines.append(
            f"| {name} | {values['support']} | {values['precision']:.2f} | {values['recall']:.2f}"
            f" | {values['f1-score']:.2f} | {by_script} | {confused or '-'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--errors", type=Path, help="also write every misheard example here, by language (to see what to add)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        report, predictions = cross_validate(args.folds, Path(out))
    REPORT.write_text(render(report, predictions, args.folds))
    print(f"wrote {REPORT}")
    if args.errors:
        args.errors.write_text(misheard(predictions))
        print(f"wrote {args.errors}")


if __name__ == "__main__":
    main()
