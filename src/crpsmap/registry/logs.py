"""A logging filter that keeps patient codes and searches out of the server's log.

Django logs the path of every refused or failed request ("Forbidden (Permission denied):
/patients/P001/identity/"), and the API logs the path of a failed call; a path may carry a patient code
and a query string may carry a name searched for. The filter sits on the registry's log handler
(settings.LOGGING), so it sees every record that reaches the log, whichever logger made it.
"""

from __future__ import annotations

import logging
import re

#: a patient code in a path (/patients/CODE/..., /api/patients/CODE/...)
PATIENT_PATH = re.compile(r"(/patients/)[^/\s?#\"']+")
#: a query string after a path (a search by name, a patient filter)
QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")


def redact(text: str) -> str:
    """`text` with patient codes in paths and whole query strings replaced."""
    return QUERY.sub(r"\1?[query]", PATIENT_PATH.sub(r"\1[code]", text))


class RedactPatientPaths(logging.Filter):
    """Rewrites a record's message (never drops a record) so that no patient code or query reaches
    the log; the record's arguments are merged into the message first."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True
