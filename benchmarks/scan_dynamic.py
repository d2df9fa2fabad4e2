"""Dynamic security scan of the registry: wapiti against `crpsmap serve` on 127.0.0.1, nothing else.

A throwaway SQLite registry (a temporary folder) gets the synthetic demo clinic (`crpsmap registry demo`)
and one clinician; `crpsmap serve` is started on a free 127.0.0.1 port; wapiti (the Debian package,
3.0.x) runs with its default modules, scope `domain` on that URL, a time limit, first anonymous, then
logged in as the clinician (a session cookie from a real login, given to wapiti with --cookie);
/logout/ is excluded so the session lives. Both reports (JSON) are written to --out, a summary of the
findings is printed, and the server is stopped. The out-of-band checks of wapiti (ssrf, blind XXE) are
pointed at an unused 127.0.0.1 port, and wapiti's automatic bug reports are off: no request leaves the
machine. Run on demand (never part of `make test`); docs/security-scans.md has the last run's findings.

In wapiti 3.0.4 --max-scan-time bounds the crawl only; each of the 11 default attack modules is bounded
by --max-attack-time, so a scan lasts at most about crawl + 11 x attack time (120 + 330 s by default).
Besides wapiti, a few checks it does not make are run with httpx (`probes`).

Usage: python benchmarks/scan_dynamic.py [--max-scan-time 120] [--max-attack-time 30] [--out DIR]
       [--only anonymous|clinician] [--no-probes] [--no-wapiti]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_registry import HOST, Server, crpsmap_cmd, run_cli  # noqa: E402

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CLINICIAN = "scan-clinician"
NOWHERE = f"http://{HOST}:9/"  # the out-of-band endpoint: nothing listens there


def wapiti_version() -> str:
    out = subprocess.run(["wapiti", "--version"], capture_output=True, text=True)
    m = re.search(r"Wapiti[- ](\d[\w.]*)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def login_cookie(base: str, password: str, path: Path) -> None:
    """Log in as a browser does and write the session in wapiti's JSON cookie format."""
    with httpx.Client(base_url=base, timeout=30.0) as c:
        r = c.get("/login/")
        m = CSRF_RE.search(r.text)
        if m is None:
            raise RuntimeError("no CSRF token on /login/")
        data = {"username": CLINICIAN, "password": password, "csrfmiddlewaretoken": m.group(1)}
        r = c.post("/login/", data=data)
        if r.status_code != 302 or "sessionid" not in c.cookies:
            raise RuntimeError(f"login failed: {r.status_code}")
        cookies = {
            name: {"value": value, "expires": None, "secure": False, "port": None, "version": 0}
            for name, value in c.cookies.items()
        }
    path.write_text(json.dumps({HOST: {"/": cookies}}), encoding="utf-8")


# wapiti 3.0.4 (Debian 12) run from the system Python with two changes: (1) it builds its --exclude
# regexes as "...\\Z(?ms)", which Python 3.11 refuses ("global flags not at the start"), so any -x crashes
# it: the same regex with the flags in front; (2) it instantiates every module, default or not, and the
# wapp and nikto modules then download their databases from the web when none is stored: those downloads
# are turned off (neither module runs by default), so that nothing but 127.0.0.1 is ever asked.
WAPITI_SHIM = """
import re, sys
import wapitiCore.attack.mod_nikto as nikto
import wapitiCore.attack.mod_wapp as wapp
import wapitiCore.net.crawler as crawler

nikto.mod_nikto.update = lambda self: None
wapp.mod_wapp.update = lambda self: None

def wildcard_translate(pattern):
    return re.compile("(?ms)" + "".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\\Z")

crawler.wildcard_translate = wildcard_translate
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"""


def run_wapiti(base: str, report: Path, session: Path, args: argparse.Namespace, cookie: Path | None) -> int:
    cmd = [
        "/usr/bin/python3",
        "-c",
        WAPITI_SHIM,
        "-u",
        base + "/",
        "--scope",
        "domain",
        "--max-scan-time",
        str(args.max_scan_time),
        "--max-attack-time",
        str(args.max_attack_time),
    ]
    cmd += ["--flush-session", "--store-session", str(session), "--store-config", str(session)]
    cmd += ["--no-bugreport", "-v", "1"]
    cmd += ["--endpoint", NOWHERE, "-x", base + "/logout/", "-f", "json", "-o", str(report)]
    if cookie is not None:
        cmd += ["-c", str(cookie)]
    print("$ wapiti " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode


def summary(report: Path) -> list[str]:
    data = json.loads(report.read_text(encoding="utf-8"))
    lines = []
    for section in ("vulnerabilities", "anomalies", "additionals"):
        for category, items in data.get(section, {}).items():
            for it in items:
                lines.append(
                    f"{section}: {category}: {it.get('method', '')} {it.get('path', '')} "
                    f"{it.get('parameter', '')} - {it.get('info', '')}".replace("\n", " ")
                )
    info = data.get("infos", {})
    lines.append(f"crawled: {info.get('crawled_pages_nbr', '?')} pages (target {info.get('target')})")
    return lines


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


def probes(base: str, password: str) -> list[str]:
    """Checks wapiti 3.0.4 does not make, with httpx as anonymous and as the clinician: open redirect
    through ?next= of the login, error pages with DEBUG off (no traceback, no reflected input), a
    directory listing of /static/, unusual HTTP methods, headers and cookie flags, the API without a
    token. One line each: OK or CHECK, what was sent, what came back."""
    out: list[str] = []

    def say(ok: bool, what: str, got: str) -> None:
        out.append(f"{'OK   ' if ok else 'CHECK'} {what}: {got}")

    evil = "https://evil.example/x"
    marker = "<script>alert(7)</script>"
    with httpx.Client(base_url=base, timeout=30.0) as anon, httpx.Client(base_url=base, timeout=30.0) as c:
        r = c.get("/login/", params={"next": evil})
        m = CSRF_RE.search(r.text)
        data = {"username": CLINICIAN, "password": password, "csrfmiddlewaretoken": m.group(1) if m else ""}
        r = c.post("/login/", params={"next": evil}, data={**data, "next": evil})
        loc = r.headers.get("location", "")
        login_cookies = r.headers.get_list("set-cookie")
        say(
            r.status_code == 302 and "evil.example" not in loc,
            "login with next=" + evil,
            f"{r.status_code} {loc}",
        )
        for client, who in ((anon, "anonymous"), (c, "clinician")):
            for url in ("/login/", "/patients/", "/dashboard/", "/api/docs", "/healthz"):
                r = client.get(url)
                missing = [h for h in SECURITY_HEADERS if h not in r.headers]
                say(not missing, f"{who} GET {url} headers", f"{r.status_code}, missing {missing or 'none'}")
            for url in (
                "/nothing-here/" + marker,
                "/patients/" + marker + "/",
                "/static/",
                "/static/registry/",
            ):
                r = client.get(url)
                text = r.text
                leaks = [
                    w for w in ("Traceback", "DEBUG = True", "settings.py", "Index of", marker) if w in text
                ]
                say(
                    r.status_code in (302, 403, 404) and not leaks,
                    f"{who} GET {url}",
                    f"{r.status_code}, leaks {leaks or 'none'}",
                )
            for method in ("OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"):
                r = client.request(method, "/patients/")
                echo = f"{method} /patients/" in r.text  # a TRACE that echoes the request (and its cookies)
                say(
                    r.status_code in (302, 403, 405),
                    f"{who} {method} /patients/",
                    f"{r.status_code}, {len(r.content)} bytes, echoes the request: {echo}",
                )
        r = anon.get("/login/")
        for header in r.headers.get_list("set-cookie") + login_cookies:
            flags = header.lower()
            say("httponly" in flags and "samesite=lax" in flags, "cookie " + header.split("=", 1)[0], header)
        r = anon.get("/api/patients")
        say(r.status_code == 401, "GET /api/patients without a token", f"{r.status_code} {r.text[:80]}")
        r = c.get("/api/patients")
        say(r.status_code == 401, "GET /api/patients with the session cookie only", str(r.status_code))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    # wapiti 3.0.4: --max-scan-time bounds the crawl only, --max-attack-time each attack module
    ap.add_argument("--max-scan-time", type=float, default=120.0, help="seconds of crawling, each scan")
    ap.add_argument("--max-attack-time", type=float, default=30.0, help="seconds per attack module")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "crpsmap-scan")
    ap.add_argument("--only", choices=["anonymous", "clinician"])
    ap.add_argument("--virtual-patients", type=int, default=20)
    ap.add_argument("--no-probes", action="store_true", help="wapiti only, without the httpx checks")
    ap.add_argument("--no-wapiti", action="store_true", help="the httpx checks only")
    args = ap.parse_args()
    if shutil.which("wapiti") is None:
        sys.exit("wapiti not found: apt-get install wapiti")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"wapiti {wapiti_version()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="crpsmap-scan-") as tmp:
        env = dict(os.environ, CRPSMAP_DATA_DIR=tmp, CRPSMAP_SECRET_KEY=secrets.token_urlsafe(32))
        env.pop("CRPSMAP_DATABASE", None)
        env.pop("CRPSMAP_DEBUG", None)  # scanned as deployed: DEBUG off
        url = f"sqlite:///{Path(tmp) / 'registry.sqlite3'}"
        run_cli(
            ["registry", "demo", "--virtual-patients", str(args.virtual_patients), "--database", url], env
        )
        password = secrets.token_urlsafe(18)
        run_cli(
            [
                "registry",
                "createuser",
                CLINICIAN,
                "--role",
                "clinician",
                "--password-stdin",
                "--database",
                url,
            ],
            env,
            stdin=password + "\n",
        )
        env["CRPSMAP_WORKERS"] = "2"
        server = Server(url, env, 4, Path(tmp) / "server.log")
        try:
            server.wait_healthy()
            print(f"server on {server.base} ({crpsmap_cmd()[0]})", file=sys.stderr)
            results = {}
            probe_lines = [] if args.no_probes else probes(server.base, password)
            for who in ("anonymous", "clinician"):
                if args.no_wapiti or (args.only and who != args.only):
                    continue
                cookie = None
                if who == "clinician":
                    cookie = Path(tmp) / "cookie.json"
                    login_cookie(server.base, password, cookie)
                report = args.out / f"wapiti-{who}.json"
                rc = run_wapiti(server.base, report, Path(tmp) / f"wapiti-{who}", args, cookie)
                results[who] = (rc, report)
            errors = [
                line for line in server.log_tail().splitlines() if "Traceback" in line or " 500 " in line
            ]
        finally:
            server.stop()
    for who, (rc, report) in results.items():
        print(f"\n== {who} (wapiti exit {rc}; {report})")
        if report.exists():
            print("\n".join(summary(report)))
    if probe_lines:
        print("\n== httpx checks\n" + "\n".join(probe_lines))
    print(f"\nserver log lines with a traceback or a 500: {len(errors)}")


if __name__ == "__main__":
    main()
