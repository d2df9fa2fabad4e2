"""`fhir`: export patient histories (a CSV long-format file) as FHIR R4B Bundles (docs/fhir.md)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from crpsmap.cli.checks import check_input, check_output_paths, load_or_exit
from crpsmap.cli.console import fail, say
from crpsmap.fhir.codes import DEFAULT_IDENTIFIER_SYSTEM
from crpsmap.outputs import atomic_open, atomic_write_text

#: an absolute URI: a scheme, a colon, then no white space or control character (FHIR `uri`)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f-\x9f]+")
MAX_URI_CHARS = 1000


def fhir(
    file: Annotated[Path, typer.Argument(help="CSV long-format file of patient histories")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="the Bundle JSON file to write; with --per-patient, the folder to write into",
        ),
    ],
    per_patient: Annotated[
        bool,
        typer.Option(
            "--per-patient",
            help="one Bundle per patient, each a file in the folder OUTPUT (made if missing), "
            "named from the patient id and a hash of it",
        ),
    ] = False,
    identifier_system: Annotated[
        str,
        typer.Option(help="URI of the system of Patient.identifier (the file's patient ids)"),
    ] = DEFAULT_IDENTIFIER_SYSTEM,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate", help="also check every resource with the fhir.resources R4B models (slow)"
        ),
    ] = False,
) -> None:
    """Export FILE as FHIR R4B Bundles: pseudonymous Patient, CRPS Conditions, visit Observations."""
    if len(identifier_system) > MAX_URI_CHARS or not _URI.fullmatch(identifier_system):
        fail(
            f"--identifier-system: {identifier_system!r} is not an absolute URI (like urn:x:y or https://...)"
        )
    check_input(file)
    if per_patient:
        _check_folder(output, file)
    else:
        check_output_paths([output], [file])
    histories = load_or_exit(file)
    check = None
    if validate:
        from crpsmap.fhir.validate import validate_resource

        check = validate_resource
    from crpsmap.fhir import bundle

    if not per_patient:
        with atomic_open(output, "w") as f:
            bundle.write_bundle(histories, f, identifier_system=identifier_system, check=check)
        say(f"{len(histories):,} patients written as one FHIR Bundle to {output.resolve()}")
        return
    names = [bundle.patient_file_name(h.patient_id) for h in histories]
    if len({n.lower() for n in names}) != len(names):  # 64-bit hashes: never, unless the ids repeat
        fail(f"{file}: two patients would get the same file name")
    target = output.expanduser().resolve()
    texts = bundle.per_patient_texts(histories, identifier_system=identifier_system, check=check)
    if target.is_dir():
        for name, text in texts:
            atomic_write_text(target / name, text)
    else:  # a new folder appears whole or not at all
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        try:
            for name, text in texts:
                (tmp / name).write_text(text, encoding="utf-8")
            tmp.chmod(0o755 & ~_umask())
            os.rename(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp)
            raise
    say(f"{len(histories):,} patients written as one FHIR Bundle each to {target}")


def _check_folder(folder: Path, input_file: Path) -> None:
    """Stop unless `folder` is an existing writable folder, or can be made (its parent exists and is
    writable); it must not be the input."""
    try:
        target = folder.expanduser().resolve()
        if target.exists() and not target.is_dir():
            fail(f"{folder}: not a folder (--per-patient writes one file per patient into a folder)")
        writable = target if target.is_dir() else target.parent
        if not target.is_dir():
            if not target.parent.exists():
                missing = os.strerror(errno.ENOENT)
                fail(f"{folder}: cannot make the folder: {missing} (no folder {target.parent})")
            if not target.parent.is_dir():
                fail(f"{folder}: cannot make the folder: {os.strerror(errno.ENOTDIR)} ({target.parent})")
        if not os.access(writable, os.W_OK | os.X_OK):
            fail(f"{folder}: cannot write: {os.strerror(errno.EACCES)} (folder {writable})")
        if input_file.expanduser().resolve() == target:
            fail(f"{folder}: is this command's input; choose another output folder")
    except OSError as exc:
        fail(f"{folder}: cannot write: {exc.strerror or exc}")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
