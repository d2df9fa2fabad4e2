"""One base layout for every crpsmap page: the report, the trial page and the registry extend it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from crpsmap.report.templating import TEMPLATE_DIR, environment

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "src" / "crpsmap" / "registry" / "templates" / "registry"


def _extends(path: Path) -> str | None:
    m = re.search(r'{%-?\s*extends\s+"([^"]+)"', path.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def test_pages_share_the_base_layout() -> None:
    assert _extends(TEMPLATE_DIR / "crpsmap" / "report.html") == "crpsmap/base.html"
    assert _extends(TEMPLATE_DIR / "crpsmap" / "trial.html") == "crpsmap/base.html"
    assert _extends(REGISTRY / "base.html") == "crpsmap/base.html"


def test_base_layout_has_no_inline_style_or_script() -> None:
    """The registry's Content-Security-Policy allows neither; standalone pages fill the styles block."""
    base = (TEMPLATE_DIR / "crpsmap" / "base.html").read_text(encoding="utf-8")
    assert "<style" not in base and "<script" not in base and "style=" not in base
    for block in ("title", "styles", "head", "header", "content", "footer", "scripts"):
        assert f"{{% block {block} %}}" in base
    registry_base = (REGISTRY / "base.html").read_text(encoding="utf-8")
    assert "<style" not in registry_base and "<script" not in registry_base and "style=" not in registry_base


def test_environment_autoescapes() -> None:
    env = environment()
    assert env.from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"


def test_templates_ship_as_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["crpsmap"]
    shipped = {
        p.relative_to(ROOT / "src" / "crpsmap").as_posix() for p in (TEMPLATE_DIR / "crpsmap").glob("*.html")
    }
    assert shipped
    for name in shipped:
        assert any(Path(name).match(p) for p in patterns), f"{name} is not in pyproject's package-data"
