"""REDCap data dictionaries: writing crpsmap's (the 18-column upload format) and reading anyone's.

A dictionary read here tells the importer what a project's codes mean: the labels of radio, dropdown and
checkbox choices (a `sex` radio coded `0, Female | 1, Male` reads as female and male) and which fields
are checkboxes. Both layouts REDCap produces are read: the upload CSV ("Variable / Field Name", ...) and
the API's metadata export (`field_name`, ...).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from crpsmap.io.problems import HistoryImportError, ImportProblem, show
from crpsmap.io.redcap import project
from crpsmap.io.source import read_source, source_label

#: the 18 columns of REDCap's data dictionary upload format, in order
DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
#: the same columns as the API's metadata export names them
METADATA_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
#: field types whose choices are coded (the code is what a raw export holds)
CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})
FIXED_CHOICES = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}


def dictionary_rows(figure: str = project.DEFAULT_FIGURE) -> list[list[str]]:
    """crpsmap's project as data-dictionary rows (without the header)."""
    rows = []
    for f in project.fields(figure):
        row = dict.fromkeys(DICTIONARY_COLUMNS, "")
        row.update(
            {
                "Variable / Field Name": f.name,
                "Form Name": f.form,
                "Section Header": f.section,
                "Field Type": f.type,
                "Field Label": f.label,
                "Choices, Calculations, OR Slider Labels": f.choices_text(),
                "Field Note": f.note,
                "Text Validation Type OR Show Slider Number": f.validation,
                "Text Validation Min": f.minimum,
                "Text Validation Max": f.maximum,
                "Identifier?": "y" if f.identifier else "",
                "Required Field?": "y" if f.required else "",
                "Field Annotation": f.annotation,
            }
        )
        rows.append([row[c] for c in DICTIONARY_COLUMNS])
    return rows


def write_dictionary(dest: IO[str], figure: str = project.DEFAULT_FIGURE) -> None:
    """Write crpsmap's data dictionary as REDCap's upload CSV (UTF-8, every cell quoted as REDCap does)."""
    writer = csv.writer(dest, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(DICTIONARY_COLUMNS)
    writer.writerows(dictionary_rows(figure))


@dataclass(frozen=True)
class DictionaryField:
    """What the importer needs of one field of a data dictionary."""

    name: str
    form: str
    type: str
    label: str
    choices: dict[str, str] = field(default_factory=dict)  # code -> label
    validation: str = ""


@dataclass(frozen=True)
class Dictionary:
    fields: dict[str, DictionaryField]

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    def label(self, field_name: str, code: str) -> str | None:
        """The label of a choice code of a field, if the dictionary knows it."""
        f = self.fields.get(field_name)
        return None if f is None else f.choices.get(code)


def parse_choices(text: str) -> dict[str, str]:
    """`1, Female | 2, Male` -> {"1": "Female", "2": "Male"} (a label may contain commas)."""
    out: dict[str, str] = {}
    for part in text.split("|"):
        code, sep, label = part.partition(",")
        if sep and code.strip():
            out[code.strip()] = label.strip()
    return out


def read_dictionary(source: str | Path | bytes, *, name: str | None = None) -> Dictionary:
    """Read a REDCap data dictionary (upload CSV or API metadata CSV). Raises HistoryImportError naming
    the file, row and column of every problem."""
    label = source_label(source, name)
    text = read_source(source, label)
    rows = list(csv.reader(io.StringIO(text.data.decode("utf-8"), newline=""), delimiter=text.delimiter))
    if not rows:
        raise HistoryImportError([ImportProblem(label, None, None, "empty file")])
    header = [c.strip() for c in rows[0]]
    for columns in (DICTIONARY_COLUMNS, METADATA_COLUMNS):
        if header[:4] == list(columns[:4]):
            break
    else:
        raise HistoryImportError(
            [
                ImportProblem(
                    label,
                    1,
                    None,
                    f"not a REDCap data dictionary: the header starts {show(','.join(header[:4]))}; expected "
                    f"{DICTIONARY_COLUMNS[0]!r}, {DICTIONARY_COLUMNS[1]!r}, ... (the upload format) or "
                    "field_name, form_name, ... (the API's metadata export)",
                )
            ]
        )
    i_choices = 5 if len(header) > 5 and header[5] == columns[5] else None
    i_validation = 7 if len(header) > 7 and header[7] == columns[7] else None
    problems: list[ImportProblem] = []
    fields: dict[str, DictionaryField] = {}
    for rowno, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 4:
            problems.append(ImportProblem(label, rowno, None, f"{len(row)} cells; a field needs at least 4"))
            continue
        fname, form, ftype = row[0].strip(), row[1].strip(), row[3].strip().lower()
        if not fname:
            problems.append(ImportProblem(label, rowno, columns[0], "missing field name"))
            continue
        if fname in fields:
            problems.append(ImportProblem(label, rowno, columns[0], f"field {show(fname)} appears twice"))
            continue
        choices: dict[str, str] = dict(FIXED_CHOICES.get(ftype, ()))
        if ftype in CHOICE_TYPES and i_choices is not None and i_choices < len(row):
            choices = parse_choices(row[i_choices])
        validation = row[i_validation].strip() if i_validation is not None and i_validation < len(row) else ""
        flabel = row[4].strip() if len(row) > 4 else ""
        fields[fname] = DictionaryField(fname, form, ftype, flabel, choices, validation)
    if not fields:
        problems.append(ImportProblem(label, None, None, "no fields (a header but no rows)"))
    if problems:
        raise HistoryImportError(problems[:50], truncated=len(problems) > 50)
    return Dictionary(fields)
