"""The `crpsmap` command line (Typer). Each command is a thin shell over library functions.

Rules every command keeps (docs/cli.md):

- A user's mistake (an option out of range, an unknown name, a missing or unreadable file, an output
  path that cannot be used) ends with exit status 2 and one line "error: ..." on stderr, before any
  work starts; a file with content problems lists them, one per line. Anything else that goes wrong is
  a bug: exit status 1 and one line (CRPSMAP_DEBUG=1 shows the traceback).
- What a user typed or a file contains is printed literally: no console markup, control characters
  shown as escapes (`crpsmap.summary.printable`).
- Output files are checked first (folder exists and is writable, not an input, no two outputs on one
  path) and written atomically: a failed or interrupted run leaves the previous file as it was.

This module builds `app` and registers the commands. The modules:

- running: the app's class, `run()` (exit statuses) and `--version`; console: printing, `fail`/`warn`
- limits, checks, options: what a user may give, checked before any work; options several commands share
- atlas (`region`), cohort (`classify`, `report`, `demo`), convert (`convert`, `redcap dictionary`),
  fhir (`fhir`), virtual (`trial`, `simulate`), calibration (`calibrate`) with calibration_table (what it
  prints), sensitivity (`sensitivity`), registry (`serve`, `registry ...`)
- model (the simulator's names and option checks) and cluster (Dask) for the commands that simulate

Heavy libraries (the simulator, Dask, Django, statsmodels...) are imported inside the commands, so that
`crpsmap --help` and the light commands do not load them.
"""

from __future__ import annotations

from crpsmap.cli.atlas import region
from crpsmap.cli.calibration import calibrate
from crpsmap.cli.calibration_table import print_calibration, sig
from crpsmap.cli.cohort import classify, demo, report
from crpsmap.cli.convert import convert, redcap_app
from crpsmap.cli.fhir import fhir
from crpsmap.cli.model import ModelCommand, mechanism_names
from crpsmap.cli.registry import registry_app, serve
from crpsmap.cli.registry_backup import registry_backup, registry_restore
from crpsmap.cli.registry_token import token_app
from crpsmap.cli.running import DEBUG_ENV, CrpsmapTyper, main, root, run
from crpsmap.cli.sensitivity import sensitivity
from crpsmap.cli.virtual import simulate, trial

__all__ = ["DEBUG_ENV", "app", "main", "mechanism_names", "print_calibration", "run", "sig"]

app = CrpsmapTyper(
    help="crpsmap: does CRPS spread, how, how often, how fast - and why?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.callback()(root)
app.command()(region)
app.command()(classify)
app.command()(report)
app.command()(demo)
app.command()(convert)
app.command()(fhir)
app.command(cls=ModelCommand)(trial)
app.command(cls=ModelCommand)(simulate)
app.command()(calibrate)
app.command()(sensitivity)
app.add_typer(redcap_app, name="redcap")
registry_app.command("backup")(registry_backup)
registry_app.command("restore")(registry_restore)
registry_app.add_typer(token_app, name="token")
app.add_typer(registry_app, name="registry")
app.command()(serve)
