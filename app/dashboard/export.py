"""Downloads of a view, each one self-contained file: the layer-by-layer token view as an HTML page (the page's own
escaped HTML with its CSS inline), as an SVG and as a PNG; the Image page's greyed pictures as one PNG sheet and
as an HTML page. Plain strings and Pillow, no Streamlit.

The SVG and the PNG share one layout (`token_grid`): a row of token boxes per layer, wrapped to the width and laid
right to left for a right-to-left text. Box widths come from the PNG's font; the SVG stretches each token's text to
its box (textLength), so the two pictures match whatever font the viewer has.

The PNG draws only what its font has glyphs for (`drawable_text`): no emoji font ships with the project or can be
counted on (DejaVu Sans has a few emoji, not most; colour emoji fonts are bitmaps Pillow draws at one size only), so
a character the font lacks is left out of the PNG rather than drawn as an empty box; the HTML and SVG keep it.
"""
from __future__ import annotations

import base64
import html
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from pruning_core.render import answer_html, answer_parts, display_units, trace_html, unit_state
from pruning_core.trace import ExampleTrace

WIDTH, MARGIN, LABEL_WIDTH = 1200, 24, 190      # pixels
FONT_SIZE, SMALL_SIZE, PAD, BOX_HEIGHT, GAP, ROW_GAP = 18, 14, 7, 30, 6, 14
MAX_TOKEN_CHARS = 40                            # a longer token is cut with "…" in the pictures
NOTHING_DRAWABLE = "·"                          # the PNG's text for a token made only of characters its font lacks
_NO_CHARACTER = "\U0010ffff"                    # a noncharacter: every font draws its missing-glyph box for it
# Fill, text colour and whether the text is struck, as in the page's token view.
LOOKS = {"kept": ("#2563eb", "#ffffff", False), "dropped": ("#fee2e2", "#b91c1c", True),
         "gone": ("#f8fafc", "#94a3b8", True)}
INK, MUTED = "#0f172a", "#475569"
FONT_NAMES = {False: ("DejaVuSans.ttf", "Arial.ttf", "LiberationSans-Regular.ttf"),
              True: ("DejaVuSans-Bold.ttf", "Arial Bold.ttf", "LiberationSans-Bold.ttf")}
DOCUMENT_STYLE = ("body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem; "
                  "color: #0f172a; } h1 { font-size: 1.3rem; } figure { display: inline-block; margin: 0 1rem 1rem 0; }"
                  " figcaption { font-size: 0.85rem; color: #334155; } img { image-rendering: pixelated; }")
# Characters XML 1.0 forbids (an SVG is XML): C0 controls but tab and newlines, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- HTML ---------------------------------------------------------------------------------------------------

def html_document(title: str, body: str) -> bytes:
    """A standalone UTF-8 HTML page around `body` (already escaped HTML)."""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{DOCUMENT_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>')
    return page.encode("utf-8", "replace")


def text_view_html(trace: ExampleTrace, unit: str = "words", hide_gone: bool = False) -> bytes:
    """The layer-by-layer token view as one HTML file: the answer, the legend and a row per layer."""
    return html_document("Tokens, layer by layer", trace_html(trace, unit, hide_gone))


def pictures_html(trace: ExampleTrace, images: Sequence[Image.Image], captions: Sequence[str]) -> bytes:
    """The picture after each layer (dropped patches greyed) as one HTML file, the pictures inline as PNG."""
    figures = "".join(f'<figure><img src="data:image/png;base64,{base64.b64encode(_png(image)).decode()}" '
                      f'alt="{html.escape(caption, quote=True)}"><figcaption>{html.escape(caption)}</figcaption>'
                      "</figure>" for image, caption in zip(images, captions))
    return html_document("Patches, layer by layer", answer_html(trace) + f"<div>{figures}</div>")


# --- the token grid, as SVG and PNG ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    text: str
    state: str          # "kept", "dropped" or "gone" (see pruning_core.render.unit_state)


@dataclass(frozen=True)
class Label:
    y: float
    title: str          # "Layer 3"
    detail: str         # "9 of 15 tokens kept"


@dataclass(frozen=True)
class Grid:
    width: int
    height: int
    heading: tuple[str, str]   # the answer, and its probability with the tokens the classifier read
    labels: list[Label]
    boxes: list[Box]


def token_grid(trace: ExampleTrace, unit: str = "words", hide_gone: bool = False, width: int = WIDTH) -> Grid:
    """Where every token box of every layer goes (the layout both pictures draw)."""
    font, units = _font(FONT_SIZE), display_units(trace, unit)
    left, right = MARGIN + LABEL_WIDTH, width - MARGIN
    mirrored = _right_to_left(trace.text)
    counts, labels, boxes = trace.keep_counts, [], []
    before = [len(trace.tokens), *counts[:-1]]
    y = MARGIN + 2 * BOX_HEIGHT
    for layer in range(trace.num_layers):
        labels.append(Label(y, f"Layer {layer + 1}", f"{counts[layer]} of {before[layer]} tokens kept"))
        x, line = left, []
        for item in units:
            state = unit_state(trace, item.positions, layer)
            if hide_gone and state == "gone":
                continue
            text = _shorten(_xml_safe(item.text))
            size = font.getlength(text) + 2 * PAD
            if x + size > right and x > left:       # wrap; a box wider than the row gets a row of its own
                x, y = left, y + BOX_HEIGHT + GAP
            line.append(Box(x, y, size, text, state))
            x += size + GAP
        boxes += [Box(left + right - box.x - box.width, box.y, box.width, box.text, box.state) if mirrored else box
                  for box in line]
        y += BOX_HEIGHT + ROW_GAP + GAP
    return Grid(width, int(y + MARGIN), answer_parts(trace), labels, boxes)


def grid_svg(grid: Grid) -> bytes:
    """The grid as a standalone SVG; every text escaped."""
    name, rest = (_xml(part) for part in grid.heading)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{grid.width}" height="{grid.height}" '
             f'viewBox="0 0 {grid.width} {grid.height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif" '
             f'font-size="{FONT_SIZE}">',
             f'<title>Tokens, layer by layer: {name}</title><rect width="100%" height="100%" fill="#ffffff"/>',
             f'<text x="{MARGIN}" y="{MARGIN + FONT_SIZE}" fill="{INK}"><tspan font-weight="bold">{name}</tspan> '
             f'{rest}</text>']
    for label in grid.labels:
        middle = label.y + BOX_HEIGHT / 2
        parts.append(f'<text x="{MARGIN}" y="{middle:.1f}" fill="{INK}" font-weight="bold">{_xml(label.title)}</text>'
                     f'<text x="{MARGIN}" y="{middle + SMALL_SIZE + 2:.1f}" fill="{MUTED}" font-size="{SMALL_SIZE}">'
                     f'{_xml(label.detail)}</text>')
    for box in grid.boxes:
        fill, ink, struck = LOOKS[box.state]
        middle = box.y + BOX_HEIGHT / 2
        parts.append(f'<g class="{box.state}"><rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
                     f'height="{BOX_HEIGHT}" rx="5" fill="{fill}" stroke="#cbd5e1"/>'
                     f'<text x="{box.x + PAD:.1f}" y="{middle:.1f}" dominant-baseline="central" fill="{ink}" '
                     f'textLength="{box.width - 2 * PAD:.1f}" lengthAdjust="spacingAndGlyphs">{_xml(box.text)}</text>'
                     + (f'<line x1="{box.x + 3:.1f}" y1="{middle:.1f}" x2="{box.x + box.width - 3:.1f}" '
                        f'y2="{middle:.1f}" stroke="{ink}" stroke-width="1.5"/>' if struck else "") + "</g>")
    parts.append("</svg>")
    return "".join(parts).encode("utf-8")


def grid_png(grid: Grid) -> bytes:
    """The grid drawn with Pillow, as PNG."""
    image = Image.new("RGB", (grid.width, grid.height), "#ffffff")
    draw = ImageDraw.Draw(image)
    font, bold_font, small = _font(FONT_SIZE), _font(FONT_SIZE, bold=True), _font(SMALL_SIZE)
    name, rest = drawable_text(grid.heading[0], bold_font), drawable_text(grid.heading[1], font)
    draw.text((MARGIN, MARGIN + FONT_SIZE), name, font=bold_font, fill=INK, anchor="ls")
    draw.text((MARGIN + bold_font.getlength(name) + 8, MARGIN + FONT_SIZE), rest, font=font, fill=INK, anchor="ls")
    for label in grid.labels:
        middle = label.y + BOX_HEIGHT / 2
        draw.text((MARGIN, middle), drawable_text(label.title, bold_font), font=bold_font, fill=INK, anchor="ls")
        draw.text((MARGIN, middle + SMALL_SIZE + 2), drawable_text(label.detail, small), font=small, fill=MUTED,
                  anchor="ls")
    for box in grid.boxes:
        fill, ink, struck = LOOKS[box.state]
        draw.rounded_rectangle((box.x, box.y, box.x + box.width, box.y + BOX_HEIGHT), radius=5, fill=fill,
                               outline="#cbd5e1")
        middle = box.y + BOX_HEIGHT / 2
        draw.text((box.x + PAD, middle), drawable_text(box.text, font), font=font, fill=ink, anchor="lm")
        if struck:
            draw.line((box.x + 3, middle, box.x + box.width - 3, middle), fill=ink, width=2)
    return _png(image)


def text_view_svg(trace: ExampleTrace, unit: str = "words", hide_gone: bool = False) -> bytes:
    return grid_svg(token_grid(trace, unit, hide_gone))


def text_view_png(trace: ExampleTrace, unit: str = "words", hide_gone: bool = False) -> bytes:
    return grid_png(token_grid(trace, unit, hide_gone))


# --- the Image page's pictures --------------------------------------------------------------------------------

def pictures_png(images: Sequence[Image.Image], captions: Sequence[str], columns: int = 5) -> bytes:
    """The picture after each layer, captioned, on one sheet (as the page's grid)."""
    side = max(image.width for image in images)
    caption_height, columns = 2 * SMALL_SIZE, min(columns, len(images))
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (MARGIN + columns * (side + MARGIN), MARGIN + rows * (side + caption_height + MARGIN)),
                      "#ffffff")
    draw, small = ImageDraw.Draw(sheet), _font(SMALL_SIZE)
    for index, (image, caption) in enumerate(zip(images, captions)):
        x = MARGIN + (index % columns) * (side + MARGIN)
        y = MARGIN + (index // columns) * (side + caption_height + MARGIN)
        sheet.paste(image.convert("RGB"), (x, y))
        draw.text((x, y + side + SMALL_SIZE + 4), drawable_text(caption, small), font=small, fill=MUTED, anchor="ls")
    return _png(sheet)


# --- helpers --------------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A TrueType font found on this machine (DejaVu covers Latin, Greek, Cyrillic, Hebrew and Arabic, not emoji),
    else Pillow's own."""
    for name in FONT_NAMES[bold] + FONT_NAMES[False]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def drawable_text(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """`text` less the characters `font` has no glyph for (most emoji, for DejaVu Sans), so that the PNG draws no
    empty boxes; what attaches to a left-out character (variation selectors, joiners, skin tones, combining marks)
    goes with it. A text left with nothing to see becomes NOTHING_DRAWABLE, so its box still shows a token."""
    kept, leaving_out = [], False
    for char in text:
        if not _attaches(char):
            leaving_out = not has_glyph(font, char)
        if not leaving_out:
            kept.append(char)
    shown = "".join(kept)
    return shown if shown.strip() or not text.strip() else NOTHING_DRAWABLE


@lru_cache(maxsize=8192)
def has_glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> bool:
    """Whether `font` draws `char` as itself, not as its missing-glyph box."""
    return _picture(font, char) != _picture(font, _NO_CHARACTER)


def _picture(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _attaches(char: str) -> bool:
    """Whether `char` modifies the character before it rather than standing alone (a combining mark, a joiner or
    other format character, a variation selector, an emoji skin tone)."""
    return (unicodedata.category(char) in ("Mn", "Me", "Cf") or "\ufe00" <= char <= "\ufe0f"
            or "\U0001f3fb" <= char <= "\U0001f3ff")


def _right_to_left(text: str) -> bool:
    """Whether the text starts, as dir="auto" reads it, with a right-to-left letter."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("L", "R", "AL"):
            return direction != "L"
    return False


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _xml(text: str) -> str:
    return html.escape(_xml_safe(text), quote=True)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_TOKEN_CHARS else text[:MAX_TOKEN_CHARS - 1] + "…"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
