"""Text drawn straight into a PDF page over a backdrop (see :mod:`examportal.pdf`), without a
layout engine: the few short blocks each copy of a series prints (a certificate's holder, number,
dates) set in the places and styles the backdrop's own layout gave their placeholders.

A block's text is a fragment of simple HTML (the template's wording): text, ``<br>`` and inline
elements whose style the backdrop's placeholder had (``<strong>``, ``<span class="url">``). Lines
break at spaces (anywhere in ``word-break: break-all`` text, and inside a word too long for the
line), are aligned as the placeholder was, and a block with more lines than its placeholder's
place holds is set smaller until it fits (at half its size, its lines share the place). Glyphs
come from the backdrop's embedded fonts, which carry every character its text asked for; there is
no kerning and there are no ligatures, so a line may be a little wider than a layout engine's.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

Box = tuple[float, float, float, float]
"""A box on its page, in CSS pixels from the page's top left corner: x1, y1, x2, y2."""

PT_PER_PX = 0.75
SMALLEST = 0.5  # a block too long for its place is set down to this share of its size
STEP = 0.95
SLACK = 1.05  # a block may take this much more height than its placeholder before it is set smaller
WIDER = 1.02  # and its lines this much more width (no kerning: a line is a little wider than the layout's)


@dataclass(frozen=True)
class Face:
    """A font embedded in a backdrop, as far as drawing text with it goes."""

    name: str  # as WeasyPrint names it, without the subset tag: "DejaVu-Sans-Bold"
    resource: str  # its name in a page's /Font resources
    ascent: float  # per em
    descent: float  # per em, positive
    glyphs: Mapping[str, int]  # character -> glyph id (the font's own ids: Identity-H)
    widths: Mapping[int, float]  # glyph id -> advance, per em
    default_width: float

    def advance(self, char: str) -> float:
        return self.widths.get(self.glyphs.get(char, 0), self.default_width)


@dataclass(frozen=True)
class TextStyle:
    face: str  # a Face's name
    size: float  # CSS px
    color: tuple[float, float, float]
    break_all: bool = False


@dataclass(frozen=True)
class Slot:
    """Where a block's placeholder was laid out, and how."""

    box: Box  # x1: where its first line began; y1, y2: its content's top and bottom; x2: its right edge
    align: str  # "left", "center" or "right"
    line_height: float | None  # CSS px; None for the font's own ("normal")
    style: TextStyle
    inline: Mapping[str, TextStyle]  # the styles of the elements inside it, by "tag" and by "tag.class"


Run = tuple[str, TextStyle]


Fragment = list[tuple[str, tuple[str, ...]]]
"""A block's text before it is styled: each run with the elements it is in (innermost last), each
named ``tag`` or ``tag.class1.class2``; ``"\n"`` for a ``<br>``."""


class _Fragments(HTMLParser):
    """Each ``data-slot`` element's text runs, with the elements each run is in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: dict[str, Fragment] = {}
        self.open: list[str] = []  # the slot's open inline elements
        self.current: str | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.current is None:
            if (name := found.get("data-slot")) is not None:
                self.current, self.depth, self.open = name, 1, []
                self.runs[name] = []
            return
        if tag == "br":
            self.runs[self.current].append(("\n", tuple(self.open)))
            return
        self.open.append(".".join([tag, *(found.get("class") or "").split()]))
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.current is None or tag == "br":
            return
        self.depth -= 1
        if self.depth == 0:
            self.current = None
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.current is not None and data:
            self.runs[self.current].append((data, tuple(self.open)))


def parse(html: str) -> dict[str, Fragment]:
    """The text of each element of ``html`` with a ``data-slot``, by its name (parsed once for a
    document whose pages draw them: :func:`styled` then styles them for each slot)."""
    parser = _Fragments()
    parser.feed(html)
    parser.close()
    return parser.runs


def styled(fragment: Fragment, slot: Slot) -> list[Run]:
    """``fragment``'s runs in the styles ``slot``'s placeholder had: the innermost element with a
    style of its own (by ``tag.class``, then ``tag``), else the slot's."""

    def style_of(elements: tuple[str, ...]) -> TextStyle:
        for element in reversed(elements):
            tag, *classes = element.split(".")
            for key in (*(f"{tag}.{name}" for name in classes), tag):
                if key in slot.inline:
                    return slot.inline[key]
        return slot.style

    return [(text, style_of(elements)) for text, elements in fragment]


# ----------------------------------------------------------------------------- setting lines

@dataclass(frozen=True)
class _Piece:
    text: str
    style: TextStyle
    width: float
    space: bool  # a collapsible space: a line may break after it, and it is dropped at a line's ends


def _pieces(runs: Sequence[Run], faces: Mapping[str, Face], scale: float) -> list[_Piece | None]:
    """The runs cut where lines may break (``None`` is a forced break), white space collapsed."""
    pieces: list[_Piece | None] = []
    after_space = True
    for text, style in runs:
        if text == "\n":
            pieces.append(None)
            after_space = True
            continue
        size = style.size * scale
        face = faces[style.face]
        printable = "".join(char for char in text if char.isspace() or unicodedata.category(char) != "Cc")
        for part in re.findall(r"\s+|[^\s]+", printable):
            if part.isspace():
                if not after_space:
                    pieces.append(_Piece(" ", style, _width(" ", face, faces) * size, True))
                after_space = True
                continue
            after_space = False
            for chunk in (part if style.break_all else [part]):
                pieces.append(_Piece(chunk, style, _width(chunk, face, faces) * size, False))
    return pieces


def _broken(piece: _Piece, width: float, faces: Mapping[str, Face], scale: float) -> list[_Piece]:
    """A word too long for a whole line, cut between its letters."""
    face, size = faces[piece.style.face], piece.style.size * scale
    out, text, used = [], "", 0.0
    for char in piece.text:
        advance = _width(char, face, faces) * size
        if text and used + advance > width:
            out.append(_Piece(text, piece.style, used, False))
            text, used = "", 0.0
        text, used = text + char, used + advance
    return [*out, _Piece(text, piece.style, used, False)]


def lines(runs: Sequence[Run], width: float, faces: Mapping[str, Face], scale: float = 1.0) -> list[list[_Piece]]:
    """``runs`` set in lines of at most ``width`` (CSS px) at ``scale`` times their size."""
    result: list[list[_Piece]] = [[]]
    used = 0.0
    for piece in _pieces(runs, faces, scale):
        if piece is None:
            result.append([])
            used = 0.0
            continue
        line = result[-1]
        if piece.space:
            if line:
                line.append(piece)
                used += piece.width
            continue
        if line and used + piece.width > width:
            while line and line[-1].space:
                used -= line.pop().width
            result.append([])
            line, used = result[-1], 0.0
        for part in (_broken(piece, width, faces, scale) if piece.width > width else [piece]):
            if line and used + part.width > width:
                result.append([])
                line, used = result[-1], 0.0
            line.append(part)
            used += part.width
    for line in result:
        while line and line[-1].space:
            line.pop()
    return result


def draw(runs: Sequence[Run], slot: Slot, faces: Mapping[str, Face], page_height: float) -> bytes:
    """PDF operators (points, from the page's bottom left corner) drawing ``runs`` in ``slot``."""
    x1, y1, x2, y2 = slot.box
    face = faces[slot.style.face]
    place = y2 - y1
    scale = 1.0
    while True:
        size = slot.style.size * scale
        leading = slot.line_height if slot.line_height is not None else (face.ascent + face.descent) * size
        set_lines = lines(runs, (x2 - x1) * WIDER, faces, scale)
        if len(set_lines) * leading <= max(place, leading) * SLACK or scale * STEP < SMALLEST:
            break
        scale *= STEP
    if len(set_lines) * leading > max(place, leading) * SLACK:  # at its smallest: its lines share the place
        leading = max(place, leading) / len(set_lines)
    out = []
    for number, line in enumerate(set_lines):
        if not line:
            continue
        width = sum(piece.width for piece in line)
        x = {"center": x1 + (x2 - x1 - width) / 2, "right": x2 - width}.get(slot.align, x1)
        baseline = y1 + number * leading + (leading - (face.ascent + face.descent) * size) / 2 + face.ascent * size
        for piece in line:
            out.append(_shown(piece, x, baseline, faces, scale, page_height))
            x += piece.width
    return b"\n".join(operator for operator in out if operator)


MISSING = 0.6  # the advance, per em, of a character no face has: drawn as an empty box


def _shown(piece: _Piece, x: float, baseline: float, faces: Mapping[str, Face], scale: float, page_height: float) -> bytes:
    """One piece of a line: each character in its style's face, or in another of the backdrop's
    faces that has it (as the layout engine fell back for the backdrop's text); a character none
    has as an empty box (as a layout engine draws its font's .notdef), not as a glyph no text
    map knows."""
    style = piece.style
    size = style.size * scale
    red, green, blue = style.color
    out = []
    for owner, text in _by_face(piece.text, faces[style.face], faces):
        if owner is None:
            for _char in text:
                out.append(b"%.4f %.4f %.4f RG %.3f w %.3f %.3f %.3f %.3f re S" % (
                    red, green, blue, size * 0.05 * PT_PER_PX, (x + size * 0.08) * PT_PER_PX, (page_height - baseline) * PT_PER_PX,
                    size * (MISSING - 0.16) * PT_PER_PX, size * 0.7 * PT_PER_PX))
                x += MISSING * size
            continue
        glyphs = "".join(f"{owner.glyphs[c]:04x}" for c in text)
        out.append(b"BT /%s %.3f Tf %.4f %.4f %.4f rg %.3f %.3f Td <%s> Tj ET" % (
            owner.resource.encode(), size * PT_PER_PX, red, green, blue, x * PT_PER_PX,
            (page_height - baseline) * PT_PER_PX, glyphs.encode()))
        x += sum(owner.advance(c) for c in text) * size
    return b"\n".join(out)


def _width(text: str, face: Face, faces: Mapping[str, Face]) -> float:
    """The advance of ``text`` in ``face`` (and the faces it falls back to), per em."""
    return sum(owner.advance(char) if owner is not None else MISSING for owner, part in _by_face(text, face, faces) for char in part)


def _by_face(text: str, face: Face, faces: Mapping[str, Face]) -> list[tuple[Face | None, str]]:
    """``text`` cut into the parts each face draws (``None``: no face has the character)."""
    parts: list[tuple[Face | None, str]] = []
    for char in text:
        owner = face if char in face.glyphs else next((f for f in faces.values() if char in f.glyphs), None)
        if parts and parts[-1][0] is owner:
            parts[-1] = (owner, parts[-1][1] + char)
        else:
            parts.append((owner, char))
    return parts
