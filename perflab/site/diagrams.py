"""Mermaid diagrams drawn at build time into inline SVG, so no page ships Mermaid's JavaScript.

Route: the pinned ``mermaid.min.js`` from ``node_modules`` (package-lock.json) is loaded into one
page of the system Chromium, driven by Playwright for Python; ``mermaid.render`` draws each
diagram there, the way it would in a reader's browser. One browser serves the whole build and
is opened only when a diagram is missing from the cache, so a cached rebuild starts no browser.
(@mermaid-js/mermaid-cli would run the Mermaid bundled into its own release rather than the
one pinned here, and would bring puppeteer's dependency tree for what Playwright already does.)

What a page gets for each diagram:
- text stays text: labels are SVG ``<text>`` (``htmlLabels`` off, no ``<foreignObject>``), set
  in the site's font stack, so the reader's own fonts draw the Chinese;
- a text alternative: ``role="img"`` and an ``aria-label`` naming the kind of diagram and
  every label in it (or the diagram's own ``accTitle``, which Mermaid turns into ``<title>``);
- it scales down with the column, but never below ``MIN_SCALE`` of its drawn size: below that
  the labels would be too small to read on a phone, so its box scrolls sideways instead.

The SVG is cached under the engine's cache folder by a key over the diagram's source, this
module's ``RENDERER_VERSION``, the Mermaid and Chromium versions, the CJK fonts Chromium measures
text with, and the Mermaid configuration (theme, font stack). A diagram Mermaid cannot parse or
draw raises PerflabError naming the page, the diagram and Mermaid's message.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from perflab import files, paths
from perflab.errors import PerflabError
from perflab.site import browser

# Bump when the markup this module produces changes (cached SVGs are then redrawn).
RENDERER_VERSION = "1"
MERMAID_JS = Path("node_modules/mermaid/dist/mermaid.min.js")
MERMAID_PACKAGE = Path("node_modules/mermaid/package.json")
EXTRA_CSS = Path("docs/assets/stylesheets/extra.css")
# A diagram is drawn at 16 px text; shrunk below 0.7× (11 px) it is no longer legible, so its
# box scrolls sideways instead of shrinking further.
MIN_SCALE = 0.7
# Seconds one diagram may take to draw (a large flowchart takes well under one).
RENDER_TIMEOUT_S = 30
PAGE_CLASS = "perflab-diagram"

# Diagrams in a built page: Markdown's fence (superfences) and nbconvert's notebook cells both
# leave <pre class="mermaid">; the source is HTML-escaped by the first and raw in the second.
FENCE = re.compile(
    r'<pre\b[^>]*\bclass="(?:[^"]*\s)?mermaid(?:\s[^"]*)?"[^>]*>\s*(?:<code\b[^>]*>)?'
    r"(?P<source>.*?)(?:</code>)?\s*</pre>",
    re.S,
)
# Anything still asking the reader's browser to draw a diagram after the fences are replaced.
LEFTOVER = re.compile(r'class="(?:[^"]*\s)?(?:mermaid|language-mermaid)(?:\s[^"]*)?"')

# The kind of diagram (Mermaid's aria-roledescription) in the reader's words.
KINDS = {
    "flowchart-v2": "流程图",
    "flowchart": "流程图",
    "sequence": "时序图",
    "classDiagram": "类图",
    "class": "类图",
    "stateDiagram": "状态图",
    "er": "实体关系图",
    "gantt": "甘特图",
    "pie": "饼图",
    "journey": "用户旅程图",
    "gitGraph": "Git 分支图",
    "mindmap": "思维导图",
    "timeline": "时间线",
    "xychart": "坐标图",
    "quadrantChart": "象限图",
    "sankey": "桑基图",
}

# Colours of the site's palette (Material's indigo on white): nodes in indigo 50 with an
# indigo border, text near black (contrast well above WCAG AA on every fill used here).
THEME_VARIABLES = {
    "primaryColor": "#e8eaf6",
    "primaryBorderColor": "#3f51b5",
    "primaryTextColor": "#1a1a1a",
    "secondaryColor": "#fff3e0",
    "tertiaryColor": "#f5f5f5",
    "lineColor": "#4a5568",
    "textColor": "#1a1a1a",
    "fontSize": "16px",
}

_PAGE = '<!doctype html><html lang="zh"><head><meta charset="utf-8"></head><body></body></html>'

# Runs in the browser: parse, then draw each diagram with a time limit; one result per diagram.
_RENDER_JS = """async ({items, timeoutMs}) => {
  const results = [];
  for (const {id, source} of items) {
    let timer;
    try {
      await mermaid.parse(source);
      const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not drawn within ${timeoutMs} ms`)), timeoutMs);
      });
      const {svg} = await Promise.race([mermaid.render(id, source), limit]);
      const holder = document.createElement('div');
      holder.innerHTML = svg;
      const root = holder.querySelector('svg');
      // one entry per <text>: its lines (tspans that are its children) joined by a space
      const texts = [...root.querySelectorAll('text')].map(t => {
        const lines = [...t.children].filter(c => c.localName === 'tspan');
        return (lines.length ? lines.map(l => l.textContent) : [t.textContent]).join(' ');
      });
      results.push({svg, texts, foreign: root.querySelectorAll('foreignObject').length});
    } catch (e) {
      results.push({error: String((e && e.message) || e)});
    } finally {
      clearTimeout(timer);
      document.body.replaceChildren();
    }
  }
  return results;
}"""


def font_stack(css: Path | None = None) -> str:
    """The site's text font stack, read from extra.css (--md-text-font), one source for both."""
    text = (css or paths.ROOT / EXTRA_CSS).read_text(encoding="utf-8")
    found = re.search(r"--md-text-font:\s*([^;]+);", text)
    if not found:
        raise PerflabError(f"{EXTRA_CSS}: no --md-text-font to take the diagrams' font stack from")
    return " ".join(found[1].split())


def mermaid_config(font: str) -> dict:
    return {
        "startOnLoad": False,
        "securityLevel": "strict",
        "deterministicIds": True,
        "suppressErrorRendering": True,
        "htmlLabels": False,
        "flowchart": {"htmlLabels": False, "useMaxWidth": True},
        "sequence": {"useMaxWidth": True},
        "theme": "base",
        "themeVariables": {**THEME_VARIABLES, "fontFamily": font},
        "fontFamily": font,
    }


def mermaid_js() -> Path:
    path = paths.ROOT / MERMAID_JS
    if not path.is_file():
        raise PerflabError(f"{MERMAID_JS} is missing; run `make setup` (or `npm ci`)")
    return path


def mermaid_version() -> str:
    try:
        return json.loads((paths.ROOT / MERMAID_PACKAGE).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        raise PerflabError(f"{MERMAID_PACKAGE} is missing; run `make setup` (or npm ci)") from None


def cjk_fonts() -> str:
    """The CJK font families Chromium can measure Chinese labels with (fontconfig's view)."""
    try:
        proc = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PerflabError(f"fc-list (fontconfig) failed: {exc}") from None
    families = sorted({line.strip() for line in proc.stdout.splitlines() if line.strip()})
    if not families:
        raise PerflabError(
            "no Chinese font for drawing diagrams (labels would be measured wrongly):"
            " apt-get install fonts-noto-cjk (or make setup)"
        )
    return "; ".join(families)


@dataclass
class Fingerprint:
    """Everything besides its source that decides how a diagram is drawn."""

    config: dict
    mermaid: str
    chromium: str
    fonts: str
    renderer: str = RENDERER_VERSION

    @classmethod
    def current(cls, chromium_path: str) -> Fingerprint:
        return cls(
            config=mermaid_config(font_stack()),
            mermaid=mermaid_version(),
            chromium=browser.version(chromium_path),
            fonts=cjk_fonts(),
        )

    def key(self, source: str) -> str:
        material = json.dumps(
            {
                "source": source,
                "renderer": self.renderer,
                "mermaid": self.mermaid,
                "chromium": self.chromium,
                "fonts": self.fonts,
                "config": self.config,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode()).hexdigest()


def svg_id(key: str) -> str:
    return f"mermaid-{key[:12]}"


_ROOT_TAG = re.compile(r"<svg\b[^>]*>")
_ATTR = re.compile(r'\s([\w:-]+)="([^"]*)"')
_VIEWBOX = re.compile(r"^\s*[-\d.]+\s+[-\d.]+\s+([\d.]+)\s+[\d.]+\s*$")


def text_alternative(kind: str, texts: list[str]) -> str:
    """'流程图：A；B；C' — the kind of diagram and each distinct label, in drawing order."""
    seen: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if text and text not in seen:
            seen.append(text)
    return f"{KINDS.get(kind, '图')}：" + "；".join(seen)


def finish(svg: str, texts: list[str]) -> str:
    """Mermaid's SVG with the text alternative and the phone-size rule on its root element."""
    tag = _ROOT_TAG.search(svg)
    if tag is None:
        raise PerflabError("Mermaid returned no <svg> element")
    attrs = dict(_ATTR.findall(tag[0]))
    kind = attrs.pop("aria-roledescription", "")
    width_match = _VIEWBOX.match(attrs.get("viewBox", ""))
    if width_match is None:
        raise PerflabError(f"Mermaid's SVG has no usable viewBox: {attrs.get('viewBox')!r}")
    width = float(width_match[1])
    attrs["role"] = "img"
    if "aria-labelledby" not in attrs:  # an accTitle in the source already names it
        attrs["aria-label"] = text_alternative(kind, texts)
    attrs["width"] = "100%"
    attrs["style"] = f"max-width: {width:.0f}px; min-width: {width * MIN_SCALE:.0f}px;"
    rebuilt = "<svg" + "".join(f' {name}="{html.escape(value)}"' for name, value in attrs.items())
    return svg[: tag.start()] + rebuilt + ">" + svg[tag.end() :]


def wrap(svg: str) -> str:
    """The block a page gets: a box that scrolls sideways when the diagram is wider than it."""
    # tabindex: a box that scrolls must be reachable with the keyboard
    return f'<div class="{PAGE_CLASS}" tabindex="0">{svg}</div>'


class Renderer:
    """One headless Chromium with the pinned Mermaid loaded; opened on first use.

    Every Playwright call runs on one thread of its own: Playwright's synchronous API refuses
    to start in a thread where an asyncio loop runs (another Playwright session, a notebook
    client, a server's loop), and a thread of our own never has one.
    """

    def __init__(self, chromium_path: str, config: dict) -> None:
        self.chromium_path = chromium_path
        self.config = config
        self._playwright = None
        self._browser = None
        self._page = None
        self._thread: ThreadPoolExecutor | None = None
        self.startup_s = 0.0

    def _call(self, fn, *args):
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="diagrams")
        return self._thread.submit(fn, *args).result()

    def _start(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise PerflabError(
                "drawing diagrams needs Playwright for Python: pip install -r requirements.txt"
            ) from None
        started = time.perf_counter()
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium_path, headless=True, args=list(browser.FLAGS)
            )
            self._page = self._browser.new_page()
            self._page.set_content(_PAGE)
            self._page.add_script_tag(path=str(mermaid_js()))
            self._page.evaluate("config => mermaid.initialize(config)", self.config)
        except PerflabError:
            self._close()
            raise
        except Exception as exc:
            self._close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PerflabError(f"could not start Chromium to draw diagrams: {first}") from None
        self.startup_s = time.perf_counter() - started

    def render(self, items: list[tuple[str, str]]) -> list[dict]:
        """Draw (id, source) pairs; each result is {svg, texts, foreign} or {error}."""
        return self._call(self._render, items)

    def _render(self, items: list[tuple[str, str]]) -> list[dict]:
        if self._page is None:
            self._start()
        try:
            return self._page.evaluate(
                _RENDER_JS,
                {
                    "items": [{"id": i, "source": s} for i, s in items],
                    "timeoutMs": RENDER_TIMEOUT_S * 1000,
                },
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PerflabError(f"Chromium failed while drawing diagrams: {first}") from None

    def close(self) -> None:
        if self._thread is None:
            return
        try:
            self._call(self._close)
        finally:
            self._thread.shutdown()
            self._thread = None

    def _close(self) -> None:
        for closer in (self._browser, self._playwright):
            if closer is None:
                continue
            try:
                closer.close() if closer is self._browser else closer.stop()
            except Exception as exc:  # closing must not hide the error that brought us here
                print(f"[diagrams] closing Chromium: {exc}", file=sys.stderr)
        self._playwright = self._browser = self._page = None

    @property
    def started(self) -> bool:
        return self._page is not None


@dataclass
class Build:
    """The diagrams of one site build: cache lookups, one browser for every miss, and timings."""

    cache: Path = field(default_factory=lambda: paths.cache_dir() / "diagrams")
    fingerprint: Fingerprint | None = None
    renderer: Renderer | None = None
    drawn: int = 0
    cached: int = 0
    render_s: float = 0.0
    pages: int = 0

    def _fingerprint(self) -> Fingerprint:
        if self.fingerprint is None:
            self.fingerprint = Fingerprint.current(browser.executable())
        return self.fingerprint

    def _path(self, key: str) -> Path:
        return self.cache / key[:2] / f"{key}.svg"

    def svgs(self, sources: list[str], where: str) -> list[str]:
        """Finished SVG for each source (cached or drawn now); PerflabError names `where`."""
        fingerprint = self._fingerprint()
        keys = [fingerprint.key(source) for source in sources]
        found: dict[str, str] = {}
        for key in keys:
            with contextlib.suppress(OSError):
                found[key] = self._path(key).read_text(encoding="utf-8")
        self.cached += sum(1 for key in keys if key in found)
        # each diagram missing from the cache once, even if the page shows it twice
        missing = list({k: s for k, s in zip(keys, sources, strict=True) if k not in found}.items())
        if missing:
            if self.renderer is None:
                self.renderer = Renderer(browser.executable(), fingerprint.config)
            started = time.perf_counter()
            results = self.renderer.render([(svg_id(key), source) for key, source in missing])
            self.render_s += time.perf_counter() - started
            for (key, source), result in zip(missing, results, strict=True):
                number = sources.index(source) + 1
                first_line = source.strip().splitlines()[0] if source.strip() else ""
                label = f"{where}: diagram {number} of {len(sources)} ({first_line!r})"
                if "error" in result:
                    message = " ".join(result["error"].split())
                    raise PerflabError(f"{label}: Mermaid cannot draw it: {message}")
                if result["foreign"]:
                    raise PerflabError(f"{label}: drawn with HTML labels (<foreignObject>)")
                svg = finish(result["svg"], result["texts"])
                found[key] = svg
                self.drawn += 1
                with contextlib.suppress(OSError):  # 缓存写不进去只是慢一点
                    files.write_text(self._path(key), svg)
        self.pages += 1
        return [found[key] for key in keys]

    def replace(self, page_html: str, where: str) -> str:
        """The page with every Mermaid fence replaced by its inline SVG."""
        fences = list(FENCE.finditer(page_html))
        if fences:
            sources = [html.unescape(m["source"]).strip() + "\n" for m in fences]
            svgs = self.svgs(sources, where)
            parts, last, used = [], 0, {}
            for match, svg in zip(fences, svgs, strict=True):
                used[svg] = used.get(svg, 0) + 1
                if used[svg] > 1:  # the same diagram twice on a page: its ids must differ
                    base = re.search(r'<svg\b[^>]*\bid="([^"]+)"', svg)[1]
                    svg = svg.replace(base, f"{base}-{used[svg]}")
                parts += [page_html[last : match.start()], wrap(svg)]
                last = match.end()
            page_html = "".join([*parts, page_html[last:]])
        leftover = LEFTOVER.search(page_html)
        if leftover:
            raise PerflabError(
                f"{where}: a Mermaid diagram is left for the reader's browser to draw"
                f" ({leftover[0]}); write it as a ```mermaid fence"
            )
        return page_html

    def summary(self) -> str:
        total = self.drawn + self.cached
        if self.renderer is not None and self.renderer.started:
            how = (
                f"{self.drawn} drawn in one Chromium"
                f" ({self.renderer.startup_s:.1f} s to start, {self.render_s:.1f} s to draw)"
            )
        else:
            how = "no browser started"
        return f"{total} diagrams on {self.pages} pages: {self.cached} from the cache, {how}"

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
