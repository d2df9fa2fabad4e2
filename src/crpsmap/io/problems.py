"""Import problems: every error names the file, the row and the field, and all are reported at once.

The string form of a problem is safe to print literally (to a terminal, a log, a web page's text): any
control character, terminal escape or other invisible character that came from the file is shown as a
visible escape (``\\x1b``), and long values are shortened.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS = 50
#: how many characters of a value a message shows
SHOW_CHARS = 40


def visible(text: str) -> str:
    """`text` with every character that is not printable (controls, escapes, bidi and zero-width
    characters, line separators) written as a Python escape, so printing it cannot move a cursor,
    colour a terminal or hide text."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
    return "".join(out)


def shorten(text: str, limit: int = SHOW_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: str) -> str:
    """A value from the file as a message shows it: quoted, shortened and with escapes visible."""
    return repr(shorten(value))


def column_letter(index: int) -> str:
    """The spreadsheet name of a column (0 -> A, 26 -> AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


@dataclass(frozen=True)
class ImportProblem:
    file: str
    row: int | None  # 1 = header row, as a spreadsheet numbers it; None = the file as a whole
    field: str | None
    message: str

    def __str__(self) -> str:
        where = visible(self.file) if self.row is None else f"{visible(self.file)}, row {self.row}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {visible(self.message)}"


class HistoryImportError(ValueError):
    """An import failed; nothing of the file is used. `problems` lists what was wrong."""

    def __init__(self, problems: list[ImportProblem], truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems]
        if truncated:
            lines.append(f"... stopped after {len(problems)} problems")
        super().__init__(f"{len(problems)} problem(s) in input:\n  " + "\n  ".join(lines))
