"""NLU cross-validation: how well the bot's pipeline recognises each intent, into docs/nlu.md.

Runs `rasa test nlu --cross-validation` on data/nlu with config.yml and reports the
per-intent precision, recall and F1 with the most frequent confusions. It trains one
model per fold, so it takes several minutes; run it after changing the NLU data or pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
REPORT = PROJECT_ROOT / "docs" / "nlu.md"


def cross_validate(folds: int, out: Path) -> dict[str, Any]:
    subprocess.run(
        [str(RASA), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml"]
        + ["--cross-validation", "--folds", str(folds), "--out", str(out)],
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    report: dict[str, Any] = json.loads((out / "intent_report.json").read_text())
    return report


def render(report: dict[str, Any], folds: int) -> str:
    intents = sorted(
        (name, scores)
        for name, scores in report.items()
        if isinstance(scores, dict) and "f1-score" in scores and name not in ("macro avg", "weighted avg", "micro avg")
    )
    overall = (
        f"- Accuracy: {report.get('accuracy', 0):.3f}; macro F1: {report['macro avg']['f1-score']:.3f};"
        f" weighted F1: {report['weighted avg']['f1-score']:.3f}"
    )
    lines = [
        "# NLU cross-validation",
        "",
        "Written by `bench/nlu.py`; do not edit by hand.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Data: `data/nlu`, pipeline `config.yml`, {folds}-fold cross-validation (test folds only)",
        overall,
        "",
        "| intent | examples | precision | recall | F1 | confused with |",
        "|---|---|---|---|---|---|",
    ]
    for name, scores in intents:
        confused = ", ".join(f"{other} ({count})" for other, count in (scores.get("confused_with") or {}).items())
        lines.append(
            f"| {name} | {scores['support']} | {scores['precision']:.2f} | {scores['recall']:.2f}"
            f" | {scores['f1-score']:.2f} | {confused or '-'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        report = cross_validate(args.folds, Path(out))
    REPORT.write_text(render(report, args.folds))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
