"""The report in a real browser: headless Chromium opens the pages of a small report.

The report is the session's small one (``conftest.small_report``: two divergences and one
proposition). Chromium (the system's: ``apt-get install chromium``; ``$CHROMIUM`` names another)
is driven over the DevTools protocol through a pipe (``_chromium.py``, standard library only).
For ``index.html``, a divergence page and a proposition page it checks that

* every ``<math>`` element is laid out as MathML (computed ``display`` ``math`` or ``block
  math``, not the ``inline`` of an unknown element) with a non-zero width and height;
* every image (the plots, ``data:`` SVG) has loaded with a non-zero size;
* the page reported no error: no console error, no exception, no error log entry (a
  Content-Security-Policy violation or a failed load is one);
* every link that is not to another site resolves: the file exists, inside the report, and
  the ``#fragment``, if any, is an ``id`` in it;

and saves a screenshot of each page under the test's ``tmp_path`` and in ``.artifacts/browser/``
(git-ignored) at the repository's root. Without Chromium the test is skipped, with the reason.
"""

from __future__ import annotations

import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ._chromium import CANDIDATES, Chromium, find_chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "browser"

#: what the page says about itself, read in the browser
_INSPECT = """(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  return {
    math: [...document.querySelectorAll('math')].map((m) => ({
      display: getComputedStyle(m).display, size: box(m), text: m.textContent.slice(0, 60),
    })),
    images: [...document.images].map((i) => ({
      complete: i.complete, natural: [i.naturalWidth, i.naturalHeight], size: box(i),
    })),
    links: [...document.querySelectorAll('a[href]')].map((a) => ({
      raw: a.getAttribute('href'), url: a.href,
    })),
  };
})()"""


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


def _ids(path: Path) -> set[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.ids


def _broken_links(page: Path, links: list[dict[str, str]], site: Path) -> list[str]:
    """The internal links of ``page`` that do not resolve (file, place in the site, fragment)."""
    broken = []
    for link in links:
        url = urlsplit(link["url"])
        if url.scheme in ("http", "https", "mailto"):
            continue  # another site: not this report's to resolve (the report has none)
        if url.scheme != "file":
            broken.append(f"{link['raw']!r}: scheme {url.scheme!r}")
            continue
        target = Path(unquote(url.path))
        if not target.is_file():
            broken.append(f"{link['raw']!r}: {target} does not exist")
        elif not target.resolve().is_relative_to(site.resolve()):
            broken.append(f"{link['raw']!r}: {target} is outside the report")
        elif url.fragment and unquote(url.fragment) not in _ids(target):
            broken.append(f"{link['raw']!r}: no id {url.fragment!r} in {target.name}")
    return broken


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    if not sys.platform.startswith("linux"):
        pytest.skip("the DevTools pipe client is written for Linux")
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            f"Chromium is not installed (looked for $CHROMIUM, {', '.join(CANDIDATES)}): "
            "apt-get install chromium"
        )
    with Chromium(executable, tmp_path_factory.mktemp("chromium-profile")) as browser:
        yield browser


#: the pages opened, with the least number of formulas each must show
PAGES = {
    "index.html": 3,
    "divergences/total_variation.html": 20,
    "propositions/saturation.html": 5,
}


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(chromium, small_report, page, tmp_path):
    site, _ = small_report
    path = site / page
    assert path.is_file(), f"{page} was not written"
    first_event = len(chromium.events)
    chromium.open(path.as_uri())
    seen = chromium.evaluate(_INSPECT)
    shot = chromium.screenshot(tmp_path / (page.replace("/", "-").removesuffix(".html") + ".png"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)

    # MathML: rendered as math, with a size
    math = seen["math"]
    assert len(math) >= PAGES[page], f"only {len(math)} <math> elements"
    not_math = [m for m in math if "math" not in m["display"]]
    assert not not_math, f"<math> not laid out as MathML: {not_math[:3]}"
    empty = [m for m in math if not (m["size"][0] > 0 and m["size"][1] > 0)]
    assert not empty, f"{len(empty)} <math> elements with no size: {empty[:3]}"

    # plots: loaded, with a size
    for image in seen["images"]:
        assert image["complete"] and min(image["natural"]) > 0, f"image not loaded: {image}"
        assert min(image["size"]) > 0, f"image with no size: {image}"
    if page != "index.html":
        assert seen["images"], f"{page} shows no plot"

    # no error of any kind while the page loaded
    errors = chromium.console_errors(since=first_event)
    assert not errors, "\n".join(errors)

    # every internal link resolves
    assert seen["links"], f"{page} has no links"
    broken = _broken_links(path, seen["links"], site)
    assert not broken, "\n".join(broken)
    assert shot.stat().st_size > 10_000, "the screenshot is (nearly) empty"
