"""REDCap: crpsmap's project (data dictionary), reading flat exports of any project through a mapping,
and writing histories as an export of crpsmap's project (docs/import.md, "REDCap")."""

from crpsmap.io.redcap.dictionary import Dictionary, read_dictionary, write_dictionary
from crpsmap.io.redcap.mapping import Mapping, default_mapping, parse_mapping, read_mapping
from crpsmap.io.redcap.project import BODY_MAP_FIGURES, DEFAULT_FIGURE
from crpsmap.io.redcap.reader import read_redcap
from crpsmap.io.redcap.writer import ExportNotes, write_redcap

__all__ = [
    "BODY_MAP_FIGURES",
    "DEFAULT_FIGURE",
    "Dictionary",
    "ExportNotes",
    "Mapping",
    "default_mapping",
    "parse_mapping",
    "read_dictionary",
    "read_mapping",
    "read_redcap",
    "write_dictionary",
    "write_redcap",
]
