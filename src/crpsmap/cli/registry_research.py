"""`crpsmap registry export FILE --research [--to csv|redcap|fhir] [--key-file PATH]`: the pseudonymised
research export from the command line (docs/pseudonymisation.md), with the same construction, checks and
audit lines as the registry's export page."""

from __future__ import annotations

from pathlib import Path

from crpsmap.cli.checks import check_name, check_output_paths
from crpsmap.cli.console import fail, say

LAYOUTS = ("csv", "redcap", "fhir")


def research_export(
    file: Path, database: str | None = None, to: str = "csv", key_file: Path | None = None
) -> int:
    """Write the research export of the registry to `file`; the key comes from `key_file`, else from
    $CRPSMAP_PSEUDONYM_KEY or $CRPSMAP_PSEUDONYM_KEY_FILE. A missing or unusable key stops with one line
    naming where it looked (exit 2; the refusal is audited), and nothing is written."""
    from crpsmap.cli.registry import _registry, _sqlite_files

    check_name("output layout", to, LAYOUTS)
    files = _sqlite_files(database)
    check_output_paths([file], [*files, *([key_file] if key_file is not None else [])])
    if files and not files[0].is_file():  # exporting must not create an empty registry
        fail(f"no registry database at {files[0]} (give --database, or import into it first)")
    _registry(database)
    from crpsmap.registry.pseudonyms import PseudonymisationError
    from crpsmap.registry.transfer import export_file, research_key

    try:
        key = research_key(layout=to, key_file=key_file)
        n = export_file(file, layout=to, research=True, key=key)
    except PseudonymisationError as exc:
        fail(f"research export refused: {exc}")
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    say(
        f"exported {n} patients to {file} (research export: pseudonyms, dates shifted; "
        f"pseudonym key id {key.key_id})"
    )
    return n
