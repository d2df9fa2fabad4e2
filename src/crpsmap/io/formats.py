"""Every layout crpsmap reads patient histories from, behind one call (the command line's `convert` and
the registry's import page both use it, so a file reads the same in both, with the same problems)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from crpsmap.io.csv_long import read_csv_result
from crpsmap.io.reader import CsvRead

#: layout name -> what it is (for help texts and the import page)
FORMATS: dict[str, str] = {
    "csv": "CSV long format (one row per record)",
    "choir": "CHOIR wide table (one row per patient and time point, columns X101..X238)",
    "redcap": "REDCap flat export (CSV, raw values)",
}


@dataclass(frozen=True)
class ReadOptions:
    """What a layout may need besides the file: dates for files without them, and for REDCap the
    project's data dictionary and a mapping of its fields (None: crpsmap's own project)."""

    visit_date: dt.date | None = None
    date_column: str | None = None  # CHOIR
    id_column: str | None = None  # CHOIR
    mapping_path: Path | None = None  # REDCap (TOML)
    mapping_text: bytes | None = None  # REDCap, the same given as bytes (an upload)
    dictionary_path: Path | None = None  # REDCap
    dictionary_bytes: bytes | None = None  # REDCap, the same given as bytes (an upload)


def read_any(
    source: Path | bytes, layout: str, options: ReadOptions | None = None, *, name: str | None = None
) -> CsvRead:
    """Read `source` (a path or a file's bytes) in `layout` (a key of FORMATS). Raises HistoryImportError
    naming file, row and field of every problem (of the mapping and the dictionary too)."""
    o = options or ReadOptions()
    if layout == "csv":
        return read_csv_result(source, name=name)
    if layout == "choir":
        from crpsmap.io.choir import read_choir_wide

        return read_choir_wide(
            source, name=name, visit_date=o.visit_date, date_column=o.date_column, id_column=o.id_column
        )
    if layout == "redcap":
        from crpsmap.io.redcap import read_dictionary, read_mapping, read_redcap

        mapping = None
        if o.mapping_path is not None:
            mapping = read_mapping(o.mapping_path)
        elif o.mapping_text is not None:
            mapping = read_mapping(o.mapping_text, name="mapping")
        dictionary = None
        if o.dictionary_path is not None:
            dictionary = read_dictionary(o.dictionary_path)
        elif o.dictionary_bytes is not None:
            dictionary = read_dictionary(o.dictionary_bytes, name="data dictionary")
        return read_redcap(source, name=name, mapping=mapping, dictionary=dictionary, visit_date=o.visit_date)
    raise ValueError(f"unknown layout {layout!r}; known: {', '.join(FORMATS)}")
