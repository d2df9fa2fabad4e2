"""The research export's construction (crpsmap.registry.pseudonyms, free of Django): keyed pseudonyms and
date offsets recomputed here from the documented construction with `hmac`/`hashlib`, linkage with one
key and none across keys, intervals and classification kept, the birth-year rule, collisions, and the key
refused clearly when absent, short, malformed or readable by others."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import random
import statistics
import sys
from pathlib import Path

import pytest

from crpsmap.data import example_cohort_path
from crpsmap.history import PatientHistory, Record
from crpsmap.io.csv_long import read_csv_bytes
from crpsmap.registry import pseudonyms as P
from crpsmap.registry.pseudonyms import (
    KEY_ENV,
    KEY_FILE_ENV,
    PseudonymCollisionError,
    PseudonymisationError,
    PseudonymKey,
    PseudonymKeyError,
    date_offset,
    load_key,
    pseudonym,
    pseudonymise,
)
from crpsmap.spread import Classification, classify_all
from hard_cases import HARD

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
HEX = KEY.hex()


def cohort() -> list[PatientHistory]:
    hs = read_csv_bytes(example_cohort_path().read_bytes(), name="example.csv")
    return hs + read_csv_bytes(HARD.encode(), name="hard.csv")


def mac(key: bytes, label: bytes, code: str) -> bytes:
    return hmac.new(key, label + b"\x00" + code.encode("utf-8"), hashlib.sha256).digest()


# --- known answers -------------------------------------------------------------------------------------


def test_known_answers_recomputed_from_the_documented_construction() -> None:
    key = PseudonymKey(KEY)
    for code in ["P001", "SYN000001", "Q-2", "ä-ü", "x" * 64]:
        want = "rp-" + mac(KEY, b"crpsmap pseudonym v1", code).hex()[:20]
        assert pseudonym(code, key) == want
        n = int.from_bytes(mac(KEY, b"crpsmap date offset v1", code)[:8], "big")
        assert date_offset(code, key) == -(1 + n % 730)
    assert key.key_id == mac(KEY, b"crpsmap key id v1", "").hex()[:16]


def test_pinned_vector_of_docs_pseudonymisation_md() -> None:
    """The example in docs/pseudonymisation.md: a change of construction would unlink earlier exports."""
    key = PseudonymKey(KEY)
    assert pseudonym("P001", key) == "rp-c2c25e1fa3e141acc6e3"
    assert date_offset("P001", key) == -100
    assert key.key_id == "34025f559a7d154f"


def test_pseudonym_and_offset_use_separate_domains() -> None:
    key = PseudonymKey(KEY)
    whole = hmac.new(KEY, b"P001", hashlib.sha256).hexdigest()  # an HMAC without a label
    assert whole[:20] not in pseudonym("P001", key)
    assert mac(KEY, b"crpsmap pseudonym v1", "P001")[:8] != mac(KEY, b"crpsmap date offset v1", "P001")[:8]


def test_offsets_are_in_range_never_zero_and_spread_over_it() -> None:
    key = PseudonymKey(KEY)
    offsets = [date_offset(f"C{i:05d}", key) for i in range(5000)]
    assert all(-730 <= o <= -1 for o in offsets)
    assert min(offsets) <= -725 and max(offsets) >= -5
    assert abs(statistics.mean(offsets) - (-365.5)) < 12  # uniform: mean -365.5, standard error 3
    assert len(set(offsets)) > 700


# --- linkage -------------------------------------------------------------------------------------------


def test_same_key_links_and_another_key_does_not() -> None:
    hs = cohort()
    a = pseudonymise(hs, PseudonymKey(KEY))
    b = pseudonymise(list(reversed(hs)), PseudonymKey(bytes(KEY)))  # another export, another order
    assert a == b
    c = pseudonymise(hs, PseudonymKey(OTHER))
    assert {h.patient_id for h in a}.isdisjoint({h.patient_id for h in c})
    first = {h.patient_id: h.records[0].date for h in a}
    moved = {h.patient_id: h.records[0].date for h in c}
    assert sorted(first.values()) != sorted(moved.values())


def test_export_is_in_pseudonym_order_and_codes_are_gone() -> None:
    hs = cohort()
    out = pseudonymise(hs, PseudonymKey(KEY))
    ids = [h.patient_id for h in out]
    assert ids == sorted(ids) and len(ids) == len(hs)
    assert all(i.startswith("rp-") and len(i) == 23 for i in ids)
    assert {h.patient_id for h in hs}.isdisjoint(ids)


# --- what is kept --------------------------------------------------------------------------------------


def test_every_interval_and_value_is_kept_and_extra_values_dropped() -> None:
    hs = cohort()
    key = PseudonymKey(KEY)
    out = {h.patient_id: h for h in pseudonymise(hs, key)}
    assert any(r.extra for h in hs for r in h.records)  # the check below can fail
    for h in hs:
        p = out[pseudonym(h.patient_id, key)]
        shift = date_offset(h.patient_id, key)
        assert len(p.records) == len(h.records)
        for a, b in zip(h.records, p.records, strict=True):
            assert (b.date - a.date).days == shift
            assert b.extra == {}
            assert b.model_dump(exclude={"date", "extra"}) == a.model_dump(exclude={"date", "extra"})
        gaps = [(y.date - x.date).days for x, y in zip(h.records, h.records[1:], strict=False)]
        assert gaps == [(y.date - x.date).days for x, y in zip(p.records, p.records[1:], strict=False)]
        assert (p.sex, p.crps_type, p.provenance) == (h.sex, h.crps_type, h.provenance)


def test_research_histories_are_valid_histories() -> None:
    today = dt.date.today()
    recent = PatientHistory(
        patient_id="RECENT",
        birth_year=today.year,
        records=(Record(date=today, kind="onset", regions=("hand_right",)),),
    )
    for p in pseudonymise([*cohort(), recent], PseudonymKey(KEY)):
        again = PatientHistory.model_validate(p.model_dump())  # every validator of the core runs
        assert again == p
        assert all(dt.date(1900, 1, 1) <= r.date < today for r in p.records)


def _events(c: Classification) -> list[tuple[object, ...]]:
    onset = c.onset_date
    assert onset is not None
    return [
        (e.area, e.pattern, e.limb_pattern, e.direction, e.trigger, (e.date - onset).days) for e in c.events
    ]


def _days(onset: dt.date | None, d: dt.date | None) -> int | None:
    return None if d is None or onset is None else (d - onset).days


def test_classification_is_the_same_apart_from_ids_and_dates() -> None:
    hs = cohort()
    key = PseudonymKey(KEY)
    before = {c.patient_id: c for c in classify_all(hs)}
    after = {c.patient_id: c for c in classify_all(pseudonymise(hs, key))}
    assert sum(len(c.events) for c in before.values()) > 20  # a classification worth comparing
    for code, c in before.items():
        r = after[pseudonym(code, key)]
        shift = dt.timedelta(days=date_offset(code, key))
        assert (r.onset_areas, r.spread, r.limbs, r.first_limb) == (
            c.onset_areas,
            c.spread,
            c.limbs,
            c.first_limb,
        )
        assert r.onset_date == (c.onset_date + shift if c.onset_date else None)
        if c.onset_date is not None:
            assert _events(r) == _events(c)
        for f in ("generalized_date", "visceral_date", "last_date"):
            assert _days(r.onset_date, getattr(r, f)) == _days(c.onset_date, getattr(c, f)), f
        assert [_days(r.onset_date, d) for d in r.limb_dates] == [
            _days(c.onset_date, d) for d in c.limb_dates
        ]


# --- birth year ----------------------------------------------------------------------------------------


def test_birth_year_moves_with_the_dates_so_age_at_onset_stays_honest() -> None:
    rng = random.Random(7)
    key = PseudonymKey(KEY)
    hs = []
    for i in range(4000):
        born = rng.randint(1940, 2000)
        onset = dt.date(born + rng.randint(10, 20), 1, 1) + dt.timedelta(days=rng.randint(0, 364))
        hs.append(
            PatientHistory(
                patient_id=f"B{i}",
                birth_year=born,
                records=(Record(date=onset, kind="onset", regions=("hand_right",)),),
            )
        )
    out = {p.patient_id: p for p in pseudonymise(hs, key)}
    errors, kept_year_errors = [], []
    for h in hs:
        p = out[pseudonym(h.patient_id, key)]
        assert p.birth_year is not None and h.birth_year is not None
        real_age = h.records[0].date.year - h.birth_year
        errors.append(p.records[0].date.year - p.birth_year - real_age)
        kept_year_errors.append(p.records[0].date.year - h.birth_year - real_age)
        assert h.birth_year - 2 <= p.birth_year <= h.birth_year
    assert set(errors) <= {-1, 0, 1}
    assert abs(statistics.mean(errors)) < 0.05  # unbiased ...
    assert statistics.mean(kept_year_errors) < -0.9  # ... where keeping the real year is not


def test_birth_year_never_after_the_first_shifted_record_nor_before_1900() -> None:
    key = PseudonymKey(KEY)
    for i in range(300):  # records in the birth year's first days: the shifted year may be the one before
        h = PatientHistory(
            patient_id=f"E{i}",
            birth_year=1990,
            records=(Record(date=dt.date(1990, 1, 2), kind="onset", regions=("hand_right",)),),
        )
        p = pseudonymise([h], key)[0]
        assert p.birth_year == p.records[0].date.year
    old = PatientHistory(patient_id="OLD", birth_year=1900, records=())
    assert pseudonymise([old], key)[0].birth_year == 1900


def test_a_date_that_would_leave_the_valid_range_is_refused() -> None:
    h = PatientHistory(
        patient_id="TYPO", records=(Record(date=dt.date(1900, 1, 1), kind="onset", regions=("hand_right",)),)
    )
    with pytest.raises(PseudonymisationError, match="'TYPO'.*before 1900"):
        pseudonymise([h], PseudonymKey(KEY))


# --- collisions ----------------------------------------------------------------------------------------


def test_collisions_within_an_export_are_refused() -> None:
    key = PseudonymKey(KEY)
    hs = [PatientHistory(patient_id=f"P{i}") for i in range(17)]  # 17 codes, 16 one-digit pseudonyms
    assert len(pseudonymise(hs, key)) == 17
    with pytest.raises(PseudonymCollisionError, match="would share the pseudonym"):
        pseudonymise(hs, key, hex_chars=1)
    with pytest.raises(PseudonymCollisionError, match="'P3' is given twice"):
        pseudonymise([*hs, PatientHistory(patient_id="P3")], key)


# --- the key -------------------------------------------------------------------------------------------


def _refused(environ: dict[str, str], *fragments: str, key_file: Path | None = None) -> str:
    with pytest.raises(PseudonymKeyError) as info:
        load_key(environ, key_file=key_file)
    message = str(info.value)
    assert "\n" not in message
    for f in fragments:
        assert f in message, (f, message)
    secret = environ.get(KEY_ENV, "")
    if len(secret) > 8:  # the key (or what was given as one) is never printed
        assert secret not in message
    return message


def test_key_from_the_environment_in_hex_or_base64() -> None:
    want = PseudonymKey(KEY)
    std = base64.b64encode(KEY).decode()
    url = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    assert load_key({KEY_ENV: HEX}).secret == want.secret
    assert load_key({KEY_ENV: HEX.upper() + "\n"}).secret == KEY
    assert load_key({KEY_ENV: std}).secret == KEY
    assert load_key({KEY_ENV: url}).secret == b"\xfb" * 32
    assert load_key({KEY_ENV: os.urandom(48).hex()}).secret != KEY
    assert HEX not in repr(want) and HEX not in str(want) and want.key_id in repr(want)


def test_missing_short_or_malformed_keys_are_refused_with_one_clear_line() -> None:
    _refused({}, "no pseudonym key", KEY_ENV, KEY_FILE_ENV)
    _refused({KEY_ENV: ""}, "no pseudonym key")
    _refused({KEY_ENV: "ab" * 31}, KEY_ENV, "31 bytes", "at least 32")
    _refused({KEY_ENV: base64.b64encode(b"k" * 24).decode()}, "24 bytes")
    _refused({KEY_ENV: "this is not a key, it is a sentence!!"}, KEY_ENV, "neither hex nor base64")
    _refused({KEY_ENV: HEX, KEY_FILE_ENV: "/somewhere"}, "both", KEY_ENV, KEY_FILE_ENV)


def test_key_file_must_be_private_readable_and_a_file(tmp_path: Path) -> None:
    f = tmp_path / "pseudonym.key"
    f.write_text(HEX + "\n")
    f.chmod(0o600)
    assert load_key({KEY_FILE_ENV: str(f)}).secret == KEY
    assert load_key({}, key_file=f).secret == KEY  # the command line's --key-file
    assert load_key({KEY_ENV: "ab"}, key_file=f).secret == KEY  # an explicit file wins
    if os.name == "posix":
        for mode in (0o644, 0o640, 0o604, 0o660):
            f.chmod(mode)
            msg = _refused(
                {KEY_FILE_ENV: str(f)}, KEY_FILE_ENV, str(f), f"{mode:04o}", "too open", "chmod 600"
            )
            assert HEX not in msg
        f.chmod(0o600)
    _refused({KEY_FILE_ENV: str(tmp_path / "absent.key")}, KEY_FILE_ENV, "cannot read", "No such file")
    _refused({KEY_FILE_ENV: str(tmp_path)}, KEY_FILE_ENV, "not a regular file")  # a folder
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe", 0o600)
        _refused({KEY_FILE_ENV: str(tmp_path / "pipe")}, "not a regular file")
    short = tmp_path / "short.key"
    short.write_text("ab" * 16)
    short.chmod(0o600)
    _refused({KEY_FILE_ENV: str(short)}, KEY_FILE_ENV, "16 bytes")
    binary = tmp_path / "binary.key"
    binary.write_bytes(os.urandom(31) + b"\xff")
    binary.chmod(0o600)
    _refused({KEY_FILE_ENV: str(binary)}, "hex or base64 text")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "locked.key"
    f.write_text(HEX)
    f.chmod(0o000)
    _refused({KEY_FILE_ENV: str(f)}, "cannot read", "Permission denied")


def test_module_is_free_of_django() -> None:
    import subprocess

    code = "import sys, crpsmap.registry.pseudonyms; print(any(m.startswith('django') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert P.PSEUDONYM_HEX_CHARS == 20 and P.MAX_SHIFT_DAYS == 730
