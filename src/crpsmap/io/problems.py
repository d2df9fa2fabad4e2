"""Import problems: every error names the file, the row and the field, and all are reported at once."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class ImportProblem:
    file: str
    row: int | None  # 1 = header row, as a spreadsheet numbers it; None = the file as a whole
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}, row {self.row}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class HistoryImportError(ValueError):
    """An import failed; nothing of the file is used. `problems` lists what was wrong."""

    def __init__(self, problems: list[ImportProblem], truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems]
        if truncated:
            lines.append(f"... stopped after {len(problems)} problems")
        super().__init__(f"{len(problems)} problem(s) in input:\n  " + "\n  ".join(lines))
