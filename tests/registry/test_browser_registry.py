"""End to end in headless Chromium against a real `crpsmap serve` (gunicorn, SQLite in a temporary folder).

A clinician creates a patient and enters visits by clicking the body map, and one visit with the keyboard
alone; the patient page shows the spread events the independent path (`registry export` then `classify`)
finds; a researcher never sees the identity; an auditor sees every write and read. No console error (a
Content-Security-Policy violation is one) and no request leaves 127.0.0.1.

Skips only when Chromium (or playwright) is missing locally and $CI is not set; in CI it fails instead.
Set CRPSMAP_UPDATE_SCREENSHOTS=1 to rewrite docs/registry-*.png (patient page and visit form, 1280 and
390 px wide).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from browser_support import CHROMIUM_ARGS, chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PASSWORDS = {
    "clinician": "clinician-pw-4711-long",
    "researcher": "researcher-pw-4712-long",
    "auditor": "auditor-pw-4713-long",
}
CODE = "BRW-001"
NAME = "Ada Browser-Testperson"
RECORD = "MRN-424242"
# (date, segments now involved): onset in the right hand, then the mirror left hand, then the left ankle
ONSET = ("2021-01-10", ["hand_palm_right", "hand_top_right"])
MIRROR = ("2021-04-10", ["hand_palm_right", "hand_top_right", "hand_palm_left", "hand_top_left"])
TRAUMA = ("2021-09-01", "ankle_left")
DIAGONAL = ("2021-10-01", MIRROR[1] + ["ankle_front_left", "ankle_back_left"])


_chromium = chromium


def _crpsmap() -> list[str]:
    """The `crpsmap` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("crpsmap")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crpsmap"]


@dataclass
class Server:
    url: str
    database: Path
    folder: Path
    env: dict[str, str]
    log: Path

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run a crpsmap command on the same database; its standard output."""
        out = subprocess.run(
            [*_crpsmap(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.folder,
            timeout=60,
        )
        assert out.returncode == 0, f"crpsmap {' '.join(args)}: exit {out.returncode}\n{out.stderr[-3000:]}"
        return out.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _chromium()  # skip (or fail in CI) before starting anything
    folder = tmp_path_factory.mktemp("registry-browser")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CRPSMAP_DATABASE", "CRPSMAP_DEBUG", "CRPSMAP_HTTPS")
    }
    env.update(
        CRPSMAP_DATA_DIR=str(folder),
        CRPSMAP_SECRET_KEY="test",
        NO_COLOR="1",
        COLUMNS="200",
        _TYPER_STANDARD_TRACEBACK="1",
    )
    database = folder / "reg.sqlite3"
    port = _free_port()
    srv = Server(f"http://127.0.0.1:{port}", database, folder, env, folder / "serve.log")
    for role, password in PASSWORDS.items():  # `createuser` applies the migrations itself
        args = ["registry", "createuser", role, "--role", role, "--password-stdin"]
        srv.run(*args, "--database", str(database), stdin=password + "\n")
    with srv.log.open("w") as log:
        proc = subprocess.Popen(
            [*_crpsmap(), "serve", "--database", str(database), "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(srv.url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"crpsmap serve did not answer /healthz:\n{srv.log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@dataclass
class Watch:
    """What every page of a browser context logged and fetched."""

    origin: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # URLs whose error status the test asks for

    def attach(self, context: Any) -> None:
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("page", self._page)

    def _page(self, page: Any) -> None:
        def console(m: Any) -> None:
            if m.type in ("error", "warning") and m.location.get("url") not in self.expected:
                self.errors.append(f"{m.type}: {m.text} ({m.location.get('url')})")

        page.on("console", console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.origin + "/", "data:", "about:"))]


def _login(browser: Any, srv: Server, role: str, watch: Watch, *, script: bool = True) -> tuple[Any, Any]:
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC", java_script_enabled=script
    )
    watch.attach(ctx)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.goto(srv.url + "/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", PASSWORDS[role])
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/login/" not in page.url, f"{role} could not log in"
    return ctx, page


def _segment(page: Any, slug: str) -> Any:
    return page.locator(f'svg.bodymap-input path[data-region="{slug}"]')


def _checked_segments(page: Any) -> list[str]:
    return sorted(
        page.eval_on_selector_all(
            'svg.bodymap-input path[aria-checked="true"]', "ps => ps.map(p => p.dataset.region)"
        )
    )


def _submitted(page: Any, srv: Server) -> None:
    errors = page.locator(".error").all_inner_texts()
    assert page.url.startswith(f"{srv.url}/patients/{CODE}/#visit-"), (page.url, errors)


def _click_visit(page: Any, srv: Server, date: str, segments: list[str], pain: str, css: int = 0) -> None:
    """A visit entered with the mouse: every segment clicked on the map, `css` CSS items ticked."""
    page.goto(f"{srv.url}/patients/{CODE}/visits/new/")
    page.fill("#id_date", date)
    for slug in segments:
        seg = _segment(page, slug)
        seg.click()
        assert seg.get_attribute("aria-checked") == "true", slug
        box = page.locator("#" + str(seg.get_attribute("data-input")))
        assert box.is_checked(), f"{slug}: the map did not check its box"
    assert _checked_segments(page) == sorted(segments)
    assert page.locator("#segment-count").inner_text() == f"{len(segments)} segments selected"
    # an area's button shows pressed once all its segments are chosen on the map
    assert page.get_attribute('button.area-toggle[data-area="hand_right"]', "aria-pressed") == "true"
    page.fill("#id_pain", pain)
    for box in page.locator('input[name="css_items"]').all()[:css]:
        box.click()
    assert page.inner_text("#css-total") == f"total {css} / 17"
    with page.expect_navigation():
        page.click("form#visit-form button[type=submit]")
    _submitted(page, srv)


def _tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab")


def _keyboard_visit(page: Any, srv: Server, date: str, segments: list[str]) -> None:
    """A visit entered with the keyboard alone: Tab to every field, Space on segments, Enter submits."""
    page.goto(f"{srv.url}/patients/{CODE}/visits/new/")
    page.keyboard.press("Tab")  # from the document into the page
    _tab_to(page, "#id_date")
    year, month, day = date.split("-")
    page.keyboard.type(month + day + year)  # en-US date input: mm dd yyyy
    assert page.input_value("#id_date") == date
    order = page.eval_on_selector_all(
        "svg.bodymap-input path[data-input]", "ps => ps.map(p => p.dataset.region)"
    )
    for slug in sorted(segments, key=order.index):  # forward in the tab order
        _tab_to(page, f'svg.bodymap-input path[data-region="{slug}"]')
        page.keyboard.press("Space")
        assert _segment(page, slug).get_attribute("aria-checked") == "true", slug
    assert _checked_segments(page) == sorted(segments)
    _tab_to(page, "#id_pain")
    page.keyboard.type("6.5")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _submitted(page, srv)


def _spread_rows(page: Any) -> list[dict[str, str]]:
    return list(
        page.eval_on_selector_all(
            "#spread-events tbody tr",
            """rs => rs.map(r => ({date: r.cells[0].textContent.trim(), pattern: r.dataset.pattern,
                limb_pattern: r.dataset.limbPattern, trigger: r.dataset.trigger}))""",
        )
    )


def _audit_rows(page: Any) -> list[dict[str, str]]:
    return list(
        page.eval_on_selector_all(
            "table.audit tbody tr",
            """rs => rs.map(r => ({user: r.cells[1].textContent.trim(), action: r.cells[2].textContent.trim(),
                table: r.cells[3].textContent.trim(), patient: r.cells[4].textContent.trim()}))""",
        )
    )


def _fits(page: Any, name: str, width: int) -> None:
    """Nothing overflows sideways at this width; with CRPSMAP_UPDATE_SCREENSHOTS=1, docs/NAME-WIDTH.png."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows at {width} px"
    if os.environ.get("CRPSMAP_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"{name}-{width}.png"), full_page=True)


def test_clinic_workflow_in_chromium(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    srv = server
    watch = Watch(srv.url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            # --- clinician: patient with identity, two visits by mouse, a trauma, one visit by keyboard
            ctx, page = _login(browser, srv, "clinician", watch)
            page.goto(srv.url + "/patients/new/")
            page.fill("#id_code", CODE)
            page.select_option("#id_sex", "female")
            page.fill("#id_birth_year", "1968")
            page.select_option("#id_crps_type", "I")
            page.fill("#id_site", "North")
            page.fill("#id_id-name", NAME)
            page.fill("#id_id-record_number", RECORD)
            with page.expect_navigation():
                page.click("form button.primary")
            assert page.url == f"{srv.url}/patients/{CODE}/", page.url
            assert NAME in page.inner_text(".identity") and RECORD in page.inner_text(".identity")

            _click_visit(page, srv, *ONSET, pain="7")
            _click_visit(page, srv, *MIRROR, pain="7.5", css=3)
            page.goto(f"{srv.url}/patients/{CODE}/events/new/?kind=trauma")
            assert page.input_value("#id_kind") == "trauma"
            page.fill("#id_date", TRAUMA[0])
            page.check(f'input[name="regions"][value="{TRAUMA[1]}"]')
            with page.expect_navigation():
                page.click("form button.primary")
            assert page.url == f"{srv.url}/patients/{CODE}/", page.url
            _keyboard_visit(page, srv, *DIAGONAL)

            # --- the patient page: mirror image, contralateral second limb, trauma-triggered diagonal limb
            assert page.locator("ol.timeline li.visit").count() == 3
            assert "Pain 7.5/10 · CSS 3/17" in page.inner_text("ol.timeline")
            shown = _spread_rows(page)
            assert [r["date"] for r in shown] == [MIRROR[0], DIAGONAL[0]], shown
            assert shown[0]["pattern"] == "mirror" and shown[0]["limb_pattern"] == "contralateral"
            assert shown[0]["trigger"] == "spontaneous"
            assert shown[1]["limb_pattern"] == "diagonal" and shown[1]["trigger"] == "trauma"
            assert "right arm → left arm → left leg" in page.inner_text("p.summary")

            # --- the independent path: export the registry, classify the file
            csv = srv.folder / "out.csv"
            srv.run("registry", "export", str(csv), "--database", str(srv.database))
            lines = [json.loads(x) for x in srv.run("classify", str(csv), "--json").splitlines() if x.strip()]
            mine = [x for x in lines if x["patient_id"] == CODE]
            assert len(mine) == 1, lines
            cli = [
                {k: e[k] or "" for k in ("date", "pattern", "limb_pattern", "trigger")}
                for e in mine[0]["events"]
            ]
            assert cli == shown

            # --- desktop and phone widths: no sideways overflow; on a phone the map fills the screen
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{srv.url}/patients/{CODE}/")
                _fits(page, "registry-patient", width)
                page.goto(f"{srv.url}/patients/{CODE}/visits/new/")
                for slug in ("foot_top_left", "ankle_front_left"):
                    _segment(page, slug).click()
                map_box = page.locator("svg.bodymap-input").bounding_box()
                assert map_box is not None and map_box["width"] >= min(600, width - 60), map_box
                assert page.locator('button.area-toggle[data-area="foot_left"]').is_visible()
                _fits(page, "registry-visit-form", width)
            ctx.close()

            # --- without JavaScript the checkbox list is the input: open, and no dead area buttons
            ctx, page = _login(browser, srv, "clinician", watch, script=False)
            page.goto(f"{srv.url}/patients/{CODE}/visits/new/")
            assert page.locator("#segment-list").get_attribute("open") is not None
            assert page.locator("#id_segments_0").is_visible()
            assert not page.locator("button.area-toggle").first.is_visible()
            ctx.close()

            # --- researcher: pseudonymised, never the identity
            ctx, page = _login(browser, srv, "researcher", watch)
            page.goto(f"{srv.url}/patients/{CODE}/")
            assert _spread_rows(page) == shown
            html = page.content()
            assert NAME not in html and RECORD not in html and page.locator(".identity").count() == 0
            page.goto(srv.url + "/patients/")
            assert page.locator(f'a[href="/patients/{CODE}/"]').count() == 1
            html = page.content()
            assert NAME not in html and RECORD not in html
            ctx.close()

            # --- auditor: every write and read of this patient; no patient list
            ctx, page = _login(browser, srv, "auditor", watch)
            page.goto(f"{srv.url}/audit/?patient={CODE}")
            rows = _audit_rows(page)
            assert all(r["patient"] == CODE for r in rows), rows

            def count(action: str, table: str = "", user: str = "clinician") -> int:
                return sum(1 for r in rows if (r["action"], r["table"], r["user"]) == (action, table, user))

            assert count("create", "patient") == 1
            assert count("create", "patient identity") == 1
            assert count("create", "visit") == 3  # the visits entered
            assert count("create", "clinical event") == 1
            assert count("read_patient") >= 4
            assert count("read_patient", user="researcher") == 1
            assert not [r for r in rows if r["action"] in ("change", "delete")], rows
            forbidden = srv.url + "/patients/"
            watch.expected.add(forbidden)  # the 403 page logs "Failed to load resource"
            response = page.goto(forbidden)
            assert response is not None and response.status == 403
            ctx.close()
        finally:
            browser.close()

    assert watch.errors == []
    assert watch.external() == []
    assert watch.requests, "no request seen"
