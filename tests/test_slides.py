"""The workshop deck (`make slides`): it builds, it is one self-contained HTML
file, it has a section per step of the registry (each ending with its
`make check STEP=NN`), every slide has speaker notes, and, where Chromium is
installed, it renders to a non-blank picture and a PDF.

Skipped where Marp CLI cannot run (no node_modules in slides/ and no npm), and
where npm cannot fetch it, except on CI (environment variable CI set), where a
failing build fails the test.
"""

import html.parser
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from conftest import KIT, registry

SLIDES = KIT / "slides"
DECK = SLIDES / "build" / "deck.html"
PDF = SLIDES / "build" / "deck.pdf"
CHROME = next(
    (p for p in (os.environ.get("CHROME_PATH"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")) if p and os.access(p, os.X_OK)),
    None,
)
WIDTH, HEIGHT = 1280, 720


class Deck(html.parser.HTMLParser):
    """The slides of a Marp HTML deck: each one's classes and text, and the
    speaker notes by slide index."""

    def __init__(self):
        super().__init__()
        self.slides, self.notes = [], {}
        self._slide = self._note = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "id" in attrs and self._slide is None:
            self._slide = {"classes": (attrs.get("class") or "").split(), "text": []}
        elif tag == "div" and "bespoke-marp-note" in (attrs.get("class") or "").split():
            self._note, self._depth = int(attrs["data-index"]), 0
            self.notes[self._note] = []
        elif self._note is not None and tag == "div":
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "section" and self._slide is not None:
            self._slide["text"] = "".join(self._slide["text"])
            self.slides.append(self._slide)
            self._slide = None
        elif tag == "div" and self._note is not None:
            if self._depth == 0:
                self.notes[self._note] = "".join(self.notes[self._note]).strip()
                self._note = None
            else:
                self._depth -= 1

    def handle_data(self, data):
        if self._slide is not None:
            self._slide["text"].append(data)
        elif self._note is not None:
            self.notes[self._note].append(data)


def marp_available():
    return (SLIDES / "node_modules" / ".bin" / "marp").exists() or (shutil.which("npm") and shutil.which("node"))


@pytest.fixture(scope="module")
def deck():
    if not marp_available():
        pytest.skip("Marp CLI is not installed and there is no npm to install it (apt-get install nodejs npm)")
    done = subprocess.run(["make", "-s", "-C", str(KIT), "slides"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "npm ci failed" in done.stderr and not os.environ.get("CI"):
        pytest.skip(f"npm could not install Marp CLI here (offline?): {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, f"make slides failed:\n{done.stdout}\n{done.stderr}"
    assert DECK.is_file(), "make slides left no slides/build/deck.html"
    text = DECK.read_text()
    parsed = Deck()
    parsed.feed(text)
    return text, parsed


def test_the_deck_is_one_self_contained_file(deck):
    text, _ = deck
    outside = [
        *re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", text, re.I),
        *re.findall(r"<link\b[^>]*\bhref\s*=\s*[\"']?([^\"' >]+)", text, re.I),
        *re.findall(r"<(?:img|image|iframe|video|audio|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?([^\"' >]+)", text, re.I),
        *re.findall(r"url\(\s*[\"']?([^\"')]+)", text, re.I),
        *re.findall(r"@import\s+(?:url\()?\s*[\"']?([^\"');]+)", text, re.I),
    ]
    fetched = [u for u in outside if not u.startswith(("data:", "#", "about:"))]
    assert not fetched, f"the deck loads files from outside itself: {fetched[:5]}"


def test_one_section_per_step_ending_with_its_check(deck):
    _, parsed = deck
    dividers = [s["text"] for s in parsed.slides if "step" in s["classes"]]
    for step in registry.STEPS:
        titled = [t for t in dividers if step.folder in t and f"Step {step.number:02d}" in t]
        assert len(titled) == 1, f"no section divider (class step) for {step.folder}: a slide with 'Step {step.number:02d}' and '{step.folder}'"
        closing = [s for s in parsed.slides if "now" in s["classes"] and f"make check STEP={step.number:02d}" in s["text"]]
        assert closing, f"the section of {step.folder} does not end with a 'now do' slide: make check STEP={step.number:02d}"
    numbers = [int(m.group(1)) for t in dividers for m in [re.search(r"Step (\d+)", t)] if m]
    assert numbers == sorted(numbers), f"the step sections are out of order: {numbers}"


def test_every_slide_has_speaker_notes(deck):
    _, parsed = deck
    assert parsed.slides, "no slides found in the deck"
    bare = [i + 1 for i in range(len(parsed.slides)) if len(parsed.notes.get(i, "")) < 40]
    assert not bare, f"slides without speaker notes (an HTML comment in the Markdown): {bare}"


def png_size_and_colours(data):
    """(width, height, number of distinct byte values in the pixels) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def screenshot(page, path):
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [CHROME, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={path}", f"{DECK.as_uri()}#{page}"],
            capture_output=True, timeout=60,
        )
    assert path.is_file(), f"Chromium made no screenshot of slide {page}"
    return png_size_and_colours(path.read_bytes())


@pytest.mark.skipif(CHROME is None, reason="no Chromium to render the deck")
def test_it_renders_in_chromium_and_makes_a_pdf(deck, tmp_path):
    _, parsed = deck
    assert PDF.is_file() and PDF.read_bytes()[:5] == b"%PDF-", "Chromium is here, but make slides made no PDF"
    diagram = next(i + 1 for i, s in enumerate(parsed.slides) if "on the wire" in s["text"])
    for page in (1, diagram):
        width, height, colours = screenshot(page, tmp_path / f"slide{page}.png")
        assert (width, height) == (WIDTH, HEIGHT)
        assert colours > 16, f"slide {page} renders blank ({colours} distinct byte values)"
