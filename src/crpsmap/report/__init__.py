"""The cohort report: `write_report(histories or CSV path, out.html, json_path=None)`."""

from crpsmap.report.api import write_report

__all__ = ["write_report"]
