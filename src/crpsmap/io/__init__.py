"""Reading and writing patient histories: the CSV long format (the CLI's exchange format)."""

from crpsmap.io.csv_long import read_csv, read_csv_text, write_csv, write_csv_text
from crpsmap.io.problems import HistoryImportError, ImportProblem

__all__ = [
    "HistoryImportError",
    "ImportProblem",
    "read_csv",
    "read_csv_text",
    "write_csv",
    "write_csv_text",
]
