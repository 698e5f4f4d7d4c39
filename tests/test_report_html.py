"""report.html is one self-contained file: every image is an inline PNG of a
sensible size, nothing refers outside the file, the tables carry the numbers;
and (slow) headless Chromium renders it to a non-blank page."""

from __future__ import annotations

import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spintron_nn.api import compile_model
from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.report.html import render_html
from spintron_nn.config import CompileConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_PREFIX = "data:image/png;base64,"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report():
    design = compile_model(str(EXAMPLES / "digits_mlp.onnx"), CompileConfig(rows=32, cols=32),
                           str(EXAMPLES / "digits_calibration.npy"))
    return build_report(design)


@pytest.fixture(scope="module")
def page(report):
    parser = _Collector()
    parser.feed(render_html(report))
    parser.close()
    return parser


def _decode(src: str) -> Image.Image:
    import base64

    assert src.startswith(PNG_PREFIX)
    image = Image.open(io.BytesIO(base64.b64decode(src[len(PNG_PREFIX):], validate=True)))
    image.load()
    return image


def test_every_image_is_an_inline_png_of_sensible_size(page):
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3  # energy breakdown, CMOS comparison, utilisation heatmap
    for attrs in images:
        assert attrs.get("alt")
        image = _decode(attrs["src"])
        assert image.format == "PNG"
        assert 300 <= image.width <= 2000 and 200 <= image.height <= 1500
        pixels = np.asarray(image.convert("L"), dtype=float)
        assert pixels.std() > 10  # something is drawn


def test_nothing_outside_the_file_is_referenced(page, report):
    html = render_html(report)
    assert "<script" not in html and "<link" not in html and "url(" not in html and "@import" not in html
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "data", "poster", "action"):
            if name in attrs:
                assert attrs[name].startswith("data:"), (tag, name, attrs[name][:40])


def test_tables_show_layers_accuracy_and_every_parameter_with_its_source(page, report):
    text = " ".join(page.text)
    for layer in report["spintronic"]["layers"]:
        assert layer["name"] in text
    for entry in report["parameters"]:
        assert entry["name"] in text and entry["source"] in text
    assert "top-1 agreement with float" in text and "CMOS baseline" in text
    assert f"{100 * report['accuracy']['top1_agreement']:.2f} %" in text


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no Chromium (apt-get install -y chromium)")
def test_headless_chromium_renders_a_non_blank_page(report, tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(report), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1200,2400",
         f"--screenshot={shot}", html_file.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert image.shape[:2] == (2400, 1200)
    not_white = (image.min(axis=2) < 200).mean()
    coloured = (image.max(axis=2) - image.min(axis=2) > 60).mean()  # the plots' bars
    assert not_white > 0.03 and coloured > 0.005
