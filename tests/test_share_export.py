"""Share links and QR codes (dashboard.share, share_ui), the downloads of a view (dashboard.export), and a trace in a
notebook (ExampleTrace._repr_html_, pruning_core.render)."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import segno
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from conftest import make_bert, make_tokenizer
from lens_helpers import open_page, save_tiny_model, word_trace
from dashboard import export, pictures, share, share_ui
from dashboard.figures import layer_view_html
from pruning_core.methods import TopK
from pruning_core.render import display_units, trace_html, unit_state
from pruning_core.text import PrunedTextClassifier
from test_image_page import LAYERS as VIT_LAYERS, cifar, noise, save_tiny_vit  # noqa: F401
from vision_helpers import make_vit

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def address(monkeypatch) -> None:
    """The app as a browser at http://lens.example:8501 sees it."""
    monkeypatch.setattr(share_ui, "current_address", lambda page: f"http://lens.example:8501/{page}")


def text_trace(text: str = "this movie was great , i love the story and the music .", keep: float = 0.3):
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), TopK.geometric(keep, 4))
    return classifier.trace([text])[0]


# --- links ----------------------------------------------------------------------------------------------------

def test_the_page_address_comes_from_the_browser_else_from_the_host_header():
    assert share.page_address("https://lens.example/app/Classroom", {"Host": "other"}, "Classroom") == \
        "https://lens.example/app/Classroom"
    assert share.page_address(None, {"Host": "10.0.0.5:8501"}, "Live_text") == "http://10.0.0.5:8501/Live_text"
    assert share.page_address(None, {"host": "lens.example", "X-Forwarded-Proto": "https"}, "Image", "/lens/") == \
        "https://lens.example/lens/Image"
    assert share.page_address(None, {"Host": "[::1]:8501"}, "Image") == "http://[::1]:8501/Image"
    for bad in ({}, {"Host": ""}, {"Host": "evil.example/<script>"}, {"Host": "a b"}):
        assert share.page_address(None, bad, "Image") is None


def test_a_link_carries_every_setting_and_decodes_to_the_same_values():
    values = {"text": "a <b>great</b> film & more? #1 שלום 😀 100%", "keep": "0.3", "hide": "1"}
    link = share.view_link("http://lens.example:8501/Live_text", values)
    assert link.note is None and link.url.startswith("http://lens.example:8501/Live_text?text=a%20%3Cb%3E")
    assert dict(parse_qsl(urlsplit(link.url).query)) == values
    assert share.view_link("http://lens.example/Image", {}).url == "http://lens.example/Image"


def test_a_view_that_does_not_fit_a_link_gets_a_note_instead():
    too_long = share.view_link("http://lens.example/Live_text", {"keep": "0.3"}, too_long=["text"])
    assert too_long.url is None and "`text` is longer than a link can carry (1,500 characters)" in too_long.note
    assert "could not be saved on this server" in too_long.note
    stored = share.view_link("http://lens.example/Live_text", {"text": "~" + "0" * 20}, stored=["text"])
    assert stored.url.endswith("text=~00000000000000000000") and "`text` is too long for a link" in stored.note
    unknown = share.view_link(None, {"keep": "0.3"})
    assert unknown.url is None and "address is not known" in unknown.note
    local = share.view_link("http://localhost:8501/Image", {"picture": "3"})
    assert local.url == "http://localhost:8501/Image?picture=3" and "a phone cannot reach" in local.note


def test_the_qr_code_is_the_link_itself():
    link = "http://lens.example:8501/Classroom?mode=text&text=the%20best%20restaurant&layer=3"
    picture = Image.open(io.BytesIO(share.qr_png(link, scale=6))).convert("L")
    code = segno.make(link, error=share.QR_ERROR, micro=False)
    size = len(code.matrix)
    assert picture.size == ((size + 8) * 6,) * 2                              # the modules plus a quiet zone of 4
    modules = [[picture.getpixel(((4 + col) * 6 + 3, (4 + row) * 6 + 3)) < 128 for col in range(size)]
               for row in range(size)]
    assert modules == [[bool(bit) for bit in row] for row in code.matrix]
    other = segno.make(link.replace("layer=3", "layer=4"), error=share.QR_ERROR, micro=False)
    assert modules != [[bool(bit) for bit in row] for row in other.matrix]
    assert share.qr_png("http://lens.example/Live_text?text=" + "%F0%9F%98%80" * 300) is None   # too long for QR


def test_live_text_shares_a_link_that_reopens_the_same_view(artifacts, address):
    save_tiny_model(artifacts)
    app = open_page("views/1_Live_text.py", text="the story was great & the music <b>fun</b>", method="topk",
                    keep="0.5", unit="subwords", hide="1")
    link = app.code[0].value
    assert link.startswith("http://lens.example:8501/Live_text?") and "keep=0.5" in link
    assert app.image[0].captions == ["Scan with a phone to open this view"]
    reopened = open_page("views/1_Live_text.py", **dict(parse_qsl(urlsplit(link).query)))
    assert reopened.text_area(key="live_text").value == "the story was great & the music <b>fun</b>"
    assert reopened.metric[3].value == app.metric[3].value
    body = lambda page: "".join(element.proto.body for element in page.html)   # noqa: E731
    assert body(reopened) == body(app)                                          # the same layer view
    assert [button.proto.label for button in app.download_button] == ["Download HTML", "Download SVG", "Download PNG"]
    assert all(button.proto.deferred_file_id for button in app.download_button)   # made only when clicked


def test_live_text_with_a_long_text_the_server_cannot_save_says_so(artifacts, address):
    save_tiny_model(artifacts)
    (artifacts / "shared").write_text("a file where the folder of shared texts should be")
    app = open_page("views/1_Live_text.py")
    app.text_area(key="live_text").input("a fine film . " * 200).run()
    assert not app.code and any("could not be saved on this server" in info.value for info in app.info)


def test_the_image_page_shares_its_picture_and_an_upload_too(artifacts, cifar, address):  # noqa: F811
    save_tiny_vit(artifacts)
    app = open_page("views/7_Image.py", picture="3", method="topk", r_max="0.5")
    link = app.code[0].value
    assert link.startswith("http://lens.example:8501/Image?") and "picture=3" in link and "r_max=0.5" in link
    reopened = open_page("views/7_Image.py", **dict(parse_qsl(urlsplit(link).query)))
    assert reopened.image[0].captions == app.image[0].captions
    assert [button.proto.label for button in app.download_button] == ["Download HTML", "Download PNG"]
    app.radio(key="image_source").set_value("upload").run()
    data = io.BytesIO()
    noise((40, 40)).save(data, format="PNG")
    app.file_uploader(key="upload_image").set_value(("mine.png", data.getvalue(), "image/png")).run()
    link = app.code[0].value                                  # the upload is kept on the server; the link names it
    assert "source=upload" in link and re.search(r"upload=[0-9a-f]{20}", link)
    reopened = open_page("views/7_Image.py", **dict(parse_qsl(urlsplit(link).query)))
    assert reopened.image[0].captions == app.image[0].captions and not reopened.warning
    assert any("the picture in the link" in text.value for text in reopened.text)
    (artifacts / "shared").rename(artifacts / "gone")         # its file removed from the server: a note, no picture
    gone = open_page("views/7_Image.py", **dict(parse_qsl(urlsplit(link).query)))
    assert any("`upload=" in warning.value and "names no picture saved" in warning.value for warning in gone.warning)


# --- exports --------------------------------------------------------------------------------------------------

def test_the_html_export_is_the_page_view_in_one_self_contained_file():
    trace = text_trace('a <script>alert("x")</script> great film')
    page = export.text_view_html(trace, "subwords", hide_gone=True).decode("utf-8")
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert layer_view_html(trace, "subwords", True) in page                     # the same escaped view
    assert "<style>" in page and "<script" not in page and "&lt;" in page
    assert not re.search(r"<link|src=|href=|@import|url\(", page)              # nothing fetched from elsewhere
    assert trace.predicted_name in page


def svg_boxes(svg: bytes) -> list[tuple[str, float, str]]:
    """(state, x, text) of every token box in an exported SVG."""
    root = ElementTree.fromstring(svg)
    return [(group.get("class"), float(group.find(f"{SVG}rect").get("x")), group.find(f"{SVG}text").text)
            for group in root.iter(f"{SVG}g")]


def test_the_svg_export_draws_one_box_per_token_and_layer_as_the_view_does():
    trace = text_trace("the <b>movie</b> & the story")
    boxes = svg_boxes(export.text_view_svg(trace))                             # parses: well-formed XML
    units = display_units(trace, "words")
    expected = [(unit_state(trace, unit.positions, layer), unit.text)
                for layer in range(trace.num_layers) for unit in units]
    assert [(state, text) for state, _, text in boxes] == expected
    assert {"kept", "dropped", "gone"} <= {state for state, _, _ in boxes}
    assert b"<b>" not in export.text_view_svg(trace) and b"&lt;" in export.text_view_svg(trace)
    hidden = svg_boxes(export.text_view_svg(trace, hide_gone=True))
    assert len(hidden) == len(boxes) - sum(state == "gone" for state, _, _ in boxes)


def test_odd_unicode_and_huge_texts_make_valid_pictures():
    trace = text_trace("great \x01\x1b film \ufffe \u202e שלום 😀 " + "x" * 500 + " the end")
    boxes = svg_boxes(export.text_view_svg(trace))
    assert all(len(text) <= export.MAX_TOKEN_CHARS for _, _, text in boxes)    # a huge token is cut
    long = text_trace("the film was fun . " * 300, keep=1.0)                     # 256 tokens, every one kept
    grid = export.token_grid(long)
    assert all(box.x + box.width <= grid.width - export.MARGIN + 1 for box in grid.boxes)   # wrapped to the width
    assert Image.open(io.BytesIO(export.grid_png(grid))).size == (grid.width, grid.height)


def test_a_right_to_left_text_is_laid_out_from_the_right():
    def first_layer_x(text: str) -> list[float]:
        trace = text_trace(text, keep=1.0)
        return [x for _, x, _ in svg_boxes(export.text_view_svg(trace))][:len(display_units(trace, "words"))]
    right_to_left, left_to_right = first_layer_x("שלום עולם great film"), first_layer_x("great film שלום")
    assert right_to_left == sorted(right_to_left, reverse=True) and left_to_right == sorted(left_to_right)


def test_the_png_export_colours_each_box_by_what_happened_to_its_token():
    trace = text_trace("the movie was great and the story was fun")
    grid = export.token_grid(trace)
    picture = Image.open(io.BytesIO(export.text_view_png(trace))).convert("RGB")
    assert picture.size == (grid.width, grid.height) and picture.format is None
    for box in grid.boxes:
        fill = export.LOOKS[box.state][0]
        expected = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
        assert picture.getpixel((int(box.x) + 3, int(box.y) + 8)) == expected, box


def test_the_image_page_pictures_export_as_one_sheet_and_one_page():
    vit = make_vit(num_layers=VIT_LAYERS, method=TopK(r_max=0.9, alpha=1.0))
    result = pictures.classify_picture(vit, vit.method, noise())
    sheet = Image.open(io.BytesIO(export.pictures_png(result.layer_images, result.captions)))
    side = result.layer_images[0].width
    assert sheet.width >= 5 * side and sheet.height >= side                      # input + 4 layers in one row
    page = export.pictures_html(result.trace, result.layer_images, result.captions).decode()
    assert page.count('<img src="data:image/png;base64,') == VIT_LAYERS + 1
    assert all(caption in page for caption in result.captions)


# --- the notebook ---------------------------------------------------------------------------------------------

def test_a_trace_renders_itself_in_a_notebook():
    trace = word_trace(["best", "<i>soup</i>", "ever"], kept=[[True, True, False], [True, False, False]])
    shown = trace._repr_html_()
    assert shown == trace_html(trace) and shown.count('class="tpl-row"') == 2
    assert "<i>soup" not in shown and "&lt;i&gt;soup" in shown and "positive" in shown and "70.0%" in shown
    real = text_trace()
    assert real._repr_html_().count('class="tpl-row"') == real.num_layers


def test_a_picture_trace_renders_as_patch_grids():
    vit = make_vit(num_layers=VIT_LAYERS, method=TopK(r_max=0.9, alpha=1.0))
    trace = vit.trace([noise()])[0]
    shown = trace._repr_html_()
    assert shown.count('class="tpl-grid"') == VIT_LAYERS
    assert shown.count('class="tpl-grid-cell') == VIT_LAYERS * (len(trace.tokens) - 1)
    gone = sum(int((~trace.patch_mask(layer)).sum()) for layer in range(VIT_LAYERS))
    assert shown.count(' tpl-grid-gone"') == gone


def test_the_library_renders_without_streamlit_or_a_plotting_library():
    code = ("import sys, numpy as np; from pruning_core.trace import ExampleTrace; "
            "t = ExampleTrace(['[CLS]', 'hi', '[SEP]'], np.ones((2, 3), np.float32), np.ones((2, 3), bool), "
            "[None, None], [0.4, 0.6], ['a', 'b']); assert 'tpl-row' in t._repr_html_(); "
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly', 'matplotlib')]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_png_draws_no_empty_boxes_for_characters_its_font_lacks(monkeypatch):
    """Every string the PNG draws is made of characters its font has glyphs for (judged here independently: a glyph
    that renders unlike the font's missing-glyph box); the SVG keeps the emoji for viewers whose fonts have them."""
    drawn = []
    original = ImageDraw.ImageDraw.text

    def recording(self, xy, text, *args, font=None, **kwargs):
        drawn.append((text, font))
        return original(self, xy, text, *args, font=font, **kwargs)
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    trace = word_trace(["great👍", "👍", "🎬🍿", "👨\u200d👩\u200d👧", "fun"], [[True] * 5, [True, False, True, True, False]])
    export.text_view_png(trace)

    def looks_missing(char: str, font) -> bool:
        picture = font.getmask(char)
        box = font.getmask("\U0010ffff")              # a noncharacter: drawn as the missing-glyph box
        return (picture.size, bytes(picture)) == (box.size, bytes(box))
    texts = [text for text, _ in drawn]
    assert not [(text, char) for text, font in drawn for char in text if looks_missing(char, font)]
    assert texts.count("great") == 2 and texts.count(export.NOTHING_DRAWABLE) == 6, texts   # 3 tokens x 2 layers
    assert "great👍" in [text for _, _, text in svg_boxes(export.text_view_svg(trace))]
