"""One way for every benchmark to report: print the JSON line and append it to results/NAME.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def record(name: str, row: dict[str, Any], *, save: bool = True) -> str:
    line = json.dumps(row)
    print(line)
    if save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / f"{name}.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    return line
