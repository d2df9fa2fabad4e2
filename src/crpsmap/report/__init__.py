"""The cohort report: `write_report(histories or CSV path, out.html, json_path=None)`."""

from crpsmap.report.api import report_html, write_report
from crpsmap.report.provenance import ProvenanceSummary, provenance_summary

__all__ = ["ProvenanceSummary", "provenance_summary", "report_html", "write_report"]
