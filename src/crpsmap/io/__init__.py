"""Reading and writing patient histories: the CSV long format (the CLI's exchange format), and reading
other layouts into it (CHOIR wide tables: `read_choir_wide`)."""

from crpsmap.io.choir import read_choir_wide
from crpsmap.io.csv_long import (
    CsvRead,
    read_csv,
    read_csv_bytes,
    read_csv_result,
    read_csv_text,
    write_csv,
    write_csv_text,
)
from crpsmap.io.problems import HistoryImportError, ImportProblem

__all__ = [
    "CsvRead",
    "HistoryImportError",
    "ImportProblem",
    "read_choir_wide",
    "read_csv",
    "read_csv_bytes",
    "read_csv_result",
    "read_csv_text",
    "write_csv",
    "write_csv_text",
]
