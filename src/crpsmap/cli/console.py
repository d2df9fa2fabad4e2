"""Where the commands print: stdout and stderr consoles, and the one-line `error:` / `warning:` / plain
lines (user data printed literally)."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from crpsmap.summary import literal, printable

# piped output (files, CI logs) gets a wide console so tables are not cut to 80 columns; no markup, no
# emoji codes, no highlighting: user data is printed as it is
console = Console(width=None if sys.stdout.isatty() else 160, markup=False, highlight=False, emoji=False)
err_console = Console(
    stderr=True, width=None if sys.stderr.isatty() else 160, markup=False, highlight=False, emoji=False
)


def error_line(message: str) -> None:
    err_console.print(Text.assemble(("error: ", "bold red"), printable(message)), soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Stop with exit status 2 and `message` as one line on stderr (a user's mistake)."""
    error_line(" ".join(message.split()))
    raise typer.Exit(2)


def warn(message: str) -> None:
    err_console.print(Text.assemble(("warning: ", "yellow"), printable(message)), soft_wrap=True)


def say(message: str, style: str = "") -> None:
    """Print a line on stdout, literally."""
    console.print(literal(message, style), soft_wrap=True)
