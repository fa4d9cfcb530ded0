"""Every PDF the portal prints (protocols, certificates, appeal annexes, session summaries) is
rendered here: WeasyPrint with one font configuration per thread (fontconfig's list of fonts is
read once, not for every document) and a URL fetcher that may read nothing but this
application's static files and inline ``data:`` URIs.

The documents are official records built from the portal's own data: none needs the network or
another file of the server, and refusing them keeps a template slip (or a value that reached
markup) from reading local files or calling out.
"""
from __future__ import annotations

import io
import mimetypes
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import pydyf  # type: ignore[import-untyped]  # WeasyPrint's PDF writer; ships no type information
from flask import current_app
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, IndirectObject, NameObject, NumberObject, StreamObject
from weasyprint import CSS, HTML
from weasyprint.anchors import make_page_bookmark_tree
from weasyprint.formatting_structure.boxes import LineBox
from weasyprint.matrix import Matrix
from weasyprint.pdf.anchors import add_outlines
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse, path2url

from .pdf_text import PT_PER_PX, Box, Face, Slot, TextStyle


class RefusedResource(FatalURLFetchingError):  # type: ignore[misc]  # WeasyPrint ships no type information
    """A document asked for a resource outside the application's static files."""


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type information
    """Serves ``file:`` URLs inside ``root`` and inline ``data:`` URIs; refuses everything else."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file", "data"), fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            path = Path(unquote(parts.path)).resolve()
            if parts.netloc in ("", "localhost") and path.is_relative_to(self.root) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        raise RefusedResource(f"a document may use only the application's static files, not {url!r}")


def static_root() -> Path:
    return Path(current_app.static_folder or current_app.root_path)


def static_fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher(static_root())


_local = threading.local()
_rendered = [0]  # documents WeasyPrint laid out in this process (see :func:`renderings`)
_rendered_lock = threading.Lock()
KEPT = 8  # backdrops kept per process, and parsed style sheets per thread (least recently used first out)


def font_configuration() -> FontConfiguration:
    """This thread's font configuration (Pango's objects are not shared between threads)."""
    config: FontConfiguration | None = getattr(_local, "fonts", None)
    if config is None:
        config = _local.fonts = FontConfiguration()
    return config


def renderings() -> int:
    """How many documents WeasyPrint laid out in this process: each keeps some of its native memory
    (about 0.2 MB, never given back), so gunicorn.conf.py replaces a web worker after so many."""
    return _rendered[0]


def _laid_out() -> None:
    with _rendered_lock:
        _rendered[0] += 1


def render_pdf(html: str) -> bytes:
    """``html`` as a PDF; relative URLs point into the static files."""
    _laid_out()
    document = HTML(string=html, base_url=path2url(str(static_root())), url_fetcher=static_fetcher())
    return bytes(document.write_pdf(font_config=font_configuration()))


# ---------------------------------------------------------------------------------- backdrops
# A document whose pages are mostly the same for a whole series (a certificate's text, but for
# its holder's blocks) is printed as two layers: the shared part rendered once as a *backdrop*,
# and for each copy only its own blocks, drawn over it as text in the backdrop's own fonts
# (examportal/pdf_text.py). The backdrop's pages become PDF form XObjects, kept serialized with
# their object numbers left open, so that a copy costs no layout, no font subsetting and no
# parsing: the backdrop's objects are appended as they are, with one content stream per page.


_Chunk = bytes | int  # serialized bytes, or the backdrop-local index of an object referred to
Bookmark = tuple[int, str, tuple[float, float], str]


class _Serialized(pydyf.Object):  # type: ignore[misc]  # pydyf ships no type information
    """A backdrop's object appended to a new PDF: its bytes, with its references renumbered."""

    def __init__(self, data: bytes, stream: bool) -> None:
        super().__init__()
        self._data, self._stream = data, stream

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def compressible(self) -> bool:
        return not self._stream


@dataclass(frozen=True)
class Backdrop:
    """The pages of a rendered document, ready to be drawn under other documents' pages."""

    objects: tuple[tuple[tuple[_Chunk, ...], bool], ...]  # each object's chunks; whether it is a stream
    forms: tuple[int, ...]  # the local index of each page's form XObject
    anchors: tuple[dict[str, Box], ...]  # each page's elements with an id
    heights: tuple[float, ...]  # each page's height, CSS pixels
    mediaboxes: tuple[tuple[float, float, float, float], ...]  # each page's, in points
    slots: tuple[dict[str, Slot], ...]  # each page's places of text drawn over it (see :func:`backdrop`)
    faces: dict[str, Face]  # its fonts, by name
    fonts: dict[str, int]  # the local index of each face's font dictionary, by its resource name
    info: dict[str, str]  # its metadata (author, subject...), for the documents drawn over it
    #: Each page's headings (WeasyPrint's bookmarks: level, label, position in CSS pixels, state),
    #: from which :func:`write_pages` makes the document's outline.
    bookmarks: tuple[tuple[Bookmark, ...], ...] = ()

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunks, _stream in self.objects for chunk in chunks if isinstance(chunk, bytes))


class _Serializer:
    """Copies the objects a page needs out of a PDF read by pypdf, references left open."""

    def __init__(self) -> None:
        self.objects: list[tuple[tuple[_Chunk, ...], bool]] = []
        self.index: dict[int, int] = {}

    def reserve(self) -> int:
        self.objects.append(((), False))
        return len(self.objects) - 1

    def indirect(self, reference: IndirectObject) -> int:
        if reference.idnum not in self.index:
            self.index[reference.idnum] = local = self.reserve()
            target = reference.get_object()
            if isinstance(target, StreamObject):
                self.objects[local] = self.stream(target, target._data), True  # as stored: still encoded
            else:
                self.objects[local] = tuple(self.value(target)), False
        return self.index[reference.idnum]

    def stream(self, head: DictionaryObject, data: bytes) -> tuple[_Chunk, ...]:
        entries = DictionaryObject({key: value for key, value in head.items() if key != "/Length"})
        entries[NameObject("/Length")] = NumberObject(len(data))
        return (*self.value(entries), b"\nstream\n" + data + b"\nendstream")

    def value(self, value: Any) -> list[_Chunk]:
        if isinstance(value, IndirectObject):
            return [self.indirect(value)]
        if isinstance(value, DictionaryObject):
            chunks: list[_Chunk] = [b"<<"]
            for key, item in value.items():
                chunks += [_written(NameObject(key)), b" ", *self.value(item), b" "]
            return [*chunks, b">>"]
        if isinstance(value, ArrayObject):
            chunks = [b"["]
            for item in value:
                chunks += [*self.value(item), b" "]
            return [*chunks, b"]"]
        return [_written(value)]


def _written(value: Any) -> bytes:
    out = io.BytesIO()
    value.write_to_stream(out)
    return out.getvalue()


def _joined(chunks: tuple[_Chunk, ...], first: int) -> bytes:
    return b"".join(chunk if isinstance(chunk, bytes) else b"%d 0 R" % (first + chunk) for chunk in chunks)


def stylesheet(css: str) -> CSS:
    """``css`` parsed, once per thread (WeasyPrint's objects are not shared between threads): a
    document whose style sheet is always the same is spared parsing and indexing it each time."""
    sheets: OrderedDict[str, CSS] | None = getattr(_local, "sheets", None)
    if sheets is None:
        sheets = _local.sheets = OrderedDict()
    if (found := sheets.get(css)) is not None:
        sheets.move_to_end(css)
        return found
    found = sheets[css] = CSS(string=css, base_url=path2url(str(static_root())), url_fetcher=static_fetcher(),
                              font_config=font_configuration())
    while len(sheets) > KEPT:
        sheets.popitem(last=False)
    return found


def layout(html: str, css: str | None = None) -> Any:
    """``html`` laid out (a WeasyPrint document), styled by ``css`` too (see :func:`stylesheet`):
    its pages' ``anchors`` say where each element with an id is (x1, y1, x2, y2 in CSS pixels)."""
    _laid_out()
    document = HTML(string=html, base_url=path2url(str(static_root())), url_fetcher=static_fetcher())
    return document.render(font_config=font_configuration(), stylesheets=[stylesheet(css)] if css else None)


def backdrop(html: str, fonts: str | None = None, css: str | None = None) -> Backdrop:
    """``html`` rendered to be drawn under other documents' pages (see :func:`write`).

    Its *slots* are the places of the text drawn over it: each element with an id ``slot-<name>``
    (its text a placeholder, ``visibility: hidden``) and each hidden page-margin box (named by its
    place, ``bottom-left``), with the style its text was set in. ``fonts`` is a document whose
    text (every character the drawn text may need, in each face it uses) makes the embedded fonts
    carry those glyphs: laid out on its own (the backdrop's page count stays its own) and written
    with the backdrop, its pages then left out. ``css`` styles both (see :func:`layout`).
    """
    document = layout(html, css)
    pages = document.pages
    written = document if fonts is None else document.copy([*pages, *layout(fonts, css).pages])
    reader = PdfReader(io.BytesIO(written.write_pdf()))
    serializer = _Serializer()
    forms = []
    for page in reader.pages[:len(pages)]:
        local = serializer.reserve()
        x1, y1, x2, y2 = (float(value) for value in page.mediabox)
        head = DictionaryObject({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                                 NameObject("/BBox"): ArrayObject(FloatObject(v) for v in (x1, y1, x2, y2)),
                                 NameObject("/Resources"): page["/Resources"], NameObject("/Filter"): NameObject("/FlateDecode")})
        contents = page.get_contents()
        serializer.objects[local] = serializer.stream(head, zlib.compress(contents.get_data() if contents is not None else b"")), True
        forms.append(local)
    faces: dict[str, Face] = {}
    dictionaries: dict[str, int] = {}
    for page in reader.pages:  # WeasyPrint's pages share one resources dictionary: every font of the document
        resources = cast(DictionaryObject, page["/Resources"].get_object())
        for resource, reference in cast(DictionaryObject, resources.get("/Font") or DictionaryObject()).items():
            if resource[1:] not in dictionaries:
                face = _face(resource[1:], reference.get_object())
                faces[face.name] = face
                dictionaries[face.resource] = serializer.indirect(reference)
    mediaboxes = tuple(cast(tuple[float, float, float, float], tuple(float(v) for v in page.mediabox)) for page in reader.pages[:len(pages)])
    return Backdrop(tuple(serializer.objects), tuple(forms), tuple(dict(page.anchors) for page in pages),
                    tuple(float(page.height) for page in pages), mediaboxes,
                    tuple(_slots(page._page_box) for page in pages), faces, dictionaries,
                    {str(key): str(value) for key, value in (reader.metadata or {}).items() if key != "/Title"},
                    tuple(tuple(page.bookmarks) for page in pages))


@dataclass(frozen=True)
class _OutlinePage:
    bookmarks: tuple[Bookmark, ...]
    height: float


def _outline(pdf: Any, pages: Sequence[tuple[tuple[Bookmark, ...], float]]) -> None:
    """The document's outline (its headings, as WeasyPrint writes a document's own) from each
    written page's bookmarks and height in CSS pixels, with WeasyPrint's own tree and writer."""
    tree: list[Any] = []
    skipped: list[int] = []
    last_by_depth: list[list[Any]] = [tree]
    level = 0
    for number, (bookmarks, height) in enumerate(pages):
        # Points from the page's bottom-left corner, as WeasyPrint's write_pdf transforms them.
        matrix = Matrix(a=PT_PER_PX, d=-PT_PER_PX, f=height * PT_PER_PX)
        level = make_page_bookmark_tree(_OutlinePage(bookmarks, height), skipped, last_by_depth, level, number, matrix)
    if tree:
        add_outlines(pdf, tree)
        if len(pages) > 1:  # a reader opens a longer document with its outline shown
            pdf.catalog["PageMode"] = "/UseOutlines"


_kept: OrderedDict[str, Backdrop] = OrderedDict()
_kept_lock = threading.Lock()


def kept(key: str, make: Callable[[], Backdrop]) -> Backdrop:
    """The backdrop kept under ``key`` in this process, made by ``make`` when there is none.

    ``key`` must name everything the backdrop is made from (a hash of its text and of its fonts'):
    a backdrop is then a pure function of its key, so another worker's copy is never stale, only
    absent. Two threads missing at once both make it; the later one is kept."""
    with _kept_lock:
        if (found := _kept.get(key)) is not None:
            _kept.move_to_end(key)
            return found
    made = make()
    with _kept_lock:
        _kept[key] = made
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return made


def _face(resource: str, font: DictionaryObject) -> Face:
    """A Type 0 font as WeasyPrint embeds it (Identity-H, glyph ids kept): its characters from its
    ToUnicode map, its advances from its widths."""
    descendant = cast(DictionaryObject, cast(ArrayObject, font["/DescendantFonts"].get_object())[0].get_object())
    descriptor = cast(DictionaryObject, descendant["/FontDescriptor"].get_object())
    widths: dict[int, float] = {}
    entries = list(descendant.get("/W") or [])
    index = 0
    while index < len(entries):
        first, second = int(entries[index]), entries[index + 1]
        if isinstance(second, list):
            widths.update({first + offset: float(width) / 1000 for offset, width in enumerate(second)})
            index += 2
        else:
            widths.update({glyph: float(entries[index + 2]) / 1000 for glyph in range(first, int(second) + 1)})
            index += 3
    program = cast(StreamObject, descriptor["/FontFile2"].get_object()).get_data() if "/FontFile2" in descriptor else b""
    # A character no font has is mapped to a glyph past the font's last (a .notdef WeasyPrint makes up): not a glyph to draw.
    count = TTFont(io.BytesIO(program), lazy=True)["maxp"].numGlyphs if program else 0x10000
    glyphs: dict[str, int] = {}
    cmap = cast(StreamObject, font["/ToUnicode"].get_object()).get_data().decode("latin-1") if "/ToUnicode" in font else ""
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for glyph, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            if len(text) == 4 and 0 < int(glyph, 16) < count:  # one character (not a ligature's several), not .notdef
                glyphs.setdefault(chr(int(text, 16)), int(glyph, 16))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]{4})>", block):
            for offset in range(int(high, 16) - int(low, 16) + 1):
                if 0 < int(low, 16) + offset < count:
                    glyphs.setdefault(chr(int(text, 16) + offset), int(low, 16) + offset)
    name = str(font["/BaseFont"]).lstrip("/")
    ascent, descent = (float(cast(Any, descriptor[key])) / 1000 for key in ("/Ascent", "/Descent"))
    return Face(name=name.split("+", 1)[-1], resource=resource, ascent=ascent, descent=abs(descent), glyphs=glyphs, widths=widths,
                default_width=float(descendant.get("/DW", 1000)) / 1000)


_WEIGHTS = {100: "Thin", 200: "Ultra-Light", 300: "Light", 500: "Medium", 600: "Semi-Bold", 700: "Bold", 800: "Ultra-Bold", 900: "Heavy"}


def _text_style(style: Any) -> TextStyle:
    """A box's computed style as text drawn over the backdrop is set in; the face named as
    WeasyPrint names the font it embeds (Pango's description, spaces as dashes)."""
    words = [style["font_family"][0], _WEIGHTS.get(int(style["font_weight"]), "")]
    if style["font_style"] != "normal":
        words.insert(1, str(style["font_style"]).capitalize())
    red, green, blue = style["color"].to("srgb").coordinates
    return TextStyle(face="-".join(" ".join(w for w in words if w).split()), size=float(style["font_size"]),
                     color=(red, green, blue), break_all=style["word_break"] == "break-all")


def _slots(page: Any) -> dict[str, Slot]:
    """A laid-out page's slots (see :func:`backdrop`)."""
    slots: dict[str, Slot] = {}

    def first_line(box: Any) -> Any:
        for child in getattr(box, "children", ()):
            if isinstance(child, LineBox):
                return child
            if (found := first_line(child)) is not None:
                return found
        return None

    def inline(box: Any, own: Any, found: dict[str, TextStyle]) -> dict[str, TextStyle]:
        for child in getattr(box, "children", ()):
            element = getattr(child, "element", None)
            if element is not None and element is not own and getattr(child, "element_tag", None):
                style = _text_style(child.style)
                found.setdefault(child.element_tag, style)
                for name in (element.get("class") or "").split():
                    found.setdefault(f"{child.element_tag}.{name}", style)
            inline(child, own, found)
        return found

    def slot(box: Any, line: Any) -> Slot:
        x, y = box.content_box_x(), box.content_box_y()
        top = line.position_y if line is not None else y
        height = box.style["line_height"]
        align = str(box.style["text_align_all"]).replace("start", "left").replace("end", "right")
        if align == "left" and line is not None:  # where its lines begin: beside a float, not at its edge
            x = line.position_x
        return Slot(box=(x, top, box.content_box_x() + box.width, max(y + box.height, top)), align=align,
                    line_height=None if height == "normal" else float(height.value) if height.unit == "px"
                    else float(height.value) * float(box.style["font_size"]),
                    style=_text_style(box.style), inline=inline(box, getattr(box, "element", None), {}))

    def walk(box: Any) -> None:
        element = getattr(box, "element", None)
        identifier = element.get("id") if element is not None else None
        if identifier and identifier.startswith("slot-") and identifier[5:] not in slots:
            slots[identifier[5:]] = slot(box, first_line(box))
        for child in getattr(box, "children", ()):
            walk(child)

    for child in page.children:
        if getattr(child, "at_keyword", None) and child.style["visibility"] == "hidden":
            slots[child.at_keyword.lstrip("@")] = slot(child, first_line(child))
        else:
            walk(child)
    return slots


def write(under: Backdrop, drawings: Sequence[bytes], title: str) -> bytes:
    """A PDF of ``under``'s pages, each with the PDF operators of ``drawings`` (in points, from the
    page's bottom left corner; text in ``under``'s fonts, by their resource names) drawn over it."""
    return write_pages([((under, number), under, drawings[number] if number < len(drawings) else b"")
                        for number in range(len(under.forms))], title)


Layer = tuple[Backdrop, int]
"""A backdrop's page, by its index."""


def write_pages(pages: Sequence[tuple[Layer, Backdrop, bytes]], title: str) -> bytes:
    """A PDF of ``pages``, each given as a backdrop's page, the backdrop whose fonts its drawing
    uses (any backdrop: a page's own text keeps its fonts) and its drawing, PDF operators drawn
    over it as :func:`write` draws them. The pages may come from several backdrops, each
    backdrop's objects written once; the first page's gives the document's metadata."""
    pdf = pydyf.PDF()
    written: dict[int, tuple[int, Any]] = {}  # id(backdrop) -> its first object's number, its fonts' dictionary

    def objects_of(under: Backdrop) -> tuple[int, Any]:
        if id(under) not in written:
            first = len(pdf.objects)
            for chunks, stream in under.objects:
                pdf.add_object(_Serialized(_joined(chunks, first), stream))
            fonts = pydyf.Dictionary({resource: b"%d 0 R" % (first + local) for resource, local in under.fonts.items()})
            pdf.add_object(fonts)
            written[id(under)] = first, fonts
        return written[id(under)]

    for (under, number), drawn_in, drawing in pages:
        form = b"%d 0 R" % (objects_of(under)[0] + under.forms[number])
        resources = pydyf.Dictionary({"XObject": pydyf.Dictionary({"Backdrop": form}), "Font": objects_of(drawn_in)[1].reference})
        pdf.add_object(resources)
        operators = [b"q /Backdrop Do Q"]
        if drawing:
            operators.append(b"q " + drawing + b" Q")
        contents = pydyf.Stream(operators, compress=True)
        pdf.add_object(contents)
        page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "MediaBox": pydyf.Array(under.mediaboxes[number]),
                                 "Contents": contents.reference, "Resources": resources.reference})
        pdf.add_page(page)
    _outline(pdf, [(under.bookmarks[number] if number < len(under.bookmarks) else (), under.heights[number])
                   for (under, number), _drawn_in, _drawing in pages])
    if pages:
        pdf.info.update({key.lstrip("/"): pydyf.String(value) for key, value in pages[0][0][0].info.items()})
    pdf.info["Title"] = pydyf.String(title)
    out = io.BytesIO()
    pdf.write(out, b"1.7", False, True)
    return out.getvalue()
