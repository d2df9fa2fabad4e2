"""Running the command line: the app's class, `run()` (exit statuses, errors as one line) and the
top-level `--version` option."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.exceptions import Abort, TyperException

from crpsmap.cli.console import error_line, say

DEBUG_ENV = "CRPSMAP_DEBUG"


class CrpsmapTyper(typer.Typer):
    """The app: calling it runs `run()`, which prints errors as one line (no usage box, no traceback)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = kwargs.get("args", args[0] if args else None)
        sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit status.

    0: done. 2: a user's mistake, said in one line on stderr ("error: ..."). 1: anything unexpected
    (a bug), also one line; with CRPSMAP_DEBUG=1 in the environment the traceback is shown instead.
    """
    from crpsmap.cli import app

    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=list(argv) if argv is not None else None, prog_name="crpsmap", standalone_mode=False
        )
    except TyperException as exc:  # Typer's (vendored Click's) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 2  # the help has been printed
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error_line(" ".join(exc.format_message().split()) + hint)
        return int(getattr(exc, "exit_code", 2))
    except Abort:
        error_line("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        text = " ".join(str(exc).split()) or "(no message)"
        error_line(
            f"unexpected {type(exc).__name__}: {text} - this is a bug in crpsmap; "
            f"{DEBUG_ENV}=1 shows the traceback"
        )
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:  # pragma: no cover - entry point
    sys.exit(run())


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("crpsmap")
        except PackageNotFoundError:
            v = "unknown (not installed)"
        say(f"crpsmap {v}")
        raise typer.Exit(0)


def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """crpsmap: does CRPS spread, how, how often, how fast - and why?"""
