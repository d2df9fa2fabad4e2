"""docs/fhir.md names every code the export uses and every atlas code it leaves out."""

from __future__ import annotations

from pathlib import Path

from crpsmap.fhir import codes

DOC = (Path(__file__).parent.parent.parent / "docs" / "fhir.md").read_text(encoding="utf-8")


def test_every_code_and_system_is_documented() -> None:
    for code in codes.all_codes():
        assert code.code in DOC, code
        assert code.system.rsplit("/", 1)[-1] in DOC, code.system
    for table in (codes.VERIFIED_SNOMED, codes.UNVERIFIED_ATLAS_SNOMED, codes.ICD10CM_TITLES, codes.UNITS):
        for code in table:
            assert code in DOC, code
    for system in (
        codes.LOCAL_OBSERVATION,
        codes.CHOIR_BODY_MAP,
        codes.ATLAS,
        codes.DEFAULT_IDENTIFIER_SYSTEM,
    ):
        assert system in DOC


def test_the_left_out_codes_are_in_the_left_out_section() -> None:
    left_out = DOC.split("## Left out", 1)[1].split("\n## ", 1)[0]
    for code in codes.UNVERIFIED_ATLAS_SNOMED:
        assert f"| {code} |" in left_out
    for code in codes.VERIFIED_SNOMED:
        assert code not in left_out
