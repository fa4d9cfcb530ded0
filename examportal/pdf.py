"""Every PDF the portal prints (protocols, certificates, appeal annexes, session summaries) is
rendered here: WeasyPrint with one font configuration per thread (fontconfig's list of fonts is
read once, not for every document) and a URL fetcher that may read nothing but this
application's static files and inline ``data:`` URIs.

The documents are official records built from the portal's own data: none needs the network or
another file of the server, and refusing them keeps a template slip (or a value that reached
markup) from reading local files or calling out.
"""
from __future__ import annotations

import functools
import io
import mimetypes
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pydyf  # type: ignore[import-untyped]  # WeasyPrint's PDF writer; ships no type information
from flask import current_app
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, IndirectObject, NameObject, NumberObject, StreamObject
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse, path2url


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


def font_configuration() -> FontConfiguration:
    """This thread's font configuration (Pango's objects are not shared between threads)."""
    config: FontConfiguration | None = getattr(_local, "fonts", None)
    if config is None:
        config = _local.fonts = FontConfiguration()
    return config


def render_pdf(html: str) -> bytes:
    """``html`` as a PDF; relative URLs point into the static files."""
    document = HTML(string=html, base_url=path2url(str(static_root())), url_fetcher=static_fetcher())
    return bytes(document.write_pdf(font_config=font_configuration()))


# ---------------------------------------------------------------------------------- backdrops
# A document whose pages are mostly the same for a whole series (a certificate's text, but for
# its holder's blocks) is printed as two layers: the shared part rendered once as a *backdrop*,
# and for each copy only its own blocks, drawn over it. The backdrop's pages become PDF form
# XObjects, kept serialized with their object numbers left open, so that drawing one under a new
# document costs no layout, no font subsetting and no parsing: its objects are appended as they are.

Box = tuple[float, float, float, float]
"""An element's border box on its page, in CSS pixels from the page's top left corner: x1, y1, x2, y2."""

_Chunk = bytes | int  # serialized bytes, or the backdrop-local index of an object referred to


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


@functools.lru_cache(maxsize=16)
def _stylesheet(css: str, root: Path) -> CSS:
    return CSS(string=css, base_url=path2url(str(root)), url_fetcher=StaticOnlyFetcher(root))


def layout(html: str, stylesheet: str | None = None) -> Any:
    """``html`` laid out (a WeasyPrint document): its pages' ``anchors`` say where each element
    with an id is (x1, y1, x2, y2 in CSS pixels); :func:`write` makes the PDF. ``stylesheet``
    (CSS text) is parsed once per process, then reused: for a document printed again and again."""
    document = HTML(string=html, base_url=path2url(str(static_root())), url_fetcher=static_fetcher())
    stylesheets = [_stylesheet(stylesheet, static_root())] if stylesheet is not None else None
    return document.render(font_config=font_configuration(), stylesheets=stylesheets)


def backdrop(html: str) -> Backdrop:
    """``html`` rendered to be drawn under other documents' pages (see :func:`write`)."""
    document = layout(html)
    reader = PdfReader(io.BytesIO(document.write_pdf()))
    serializer = _Serializer()
    forms = []
    for page in reader.pages:
        local = serializer.reserve()
        x1, y1, x2, y2 = (float(value) for value in page.mediabox)
        head = DictionaryObject({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                                 NameObject("/BBox"): ArrayObject(FloatObject(v) for v in (x1, y1, x2, y2)),
                                 NameObject("/Resources"): page["/Resources"], NameObject("/Filter"): NameObject("/FlateDecode")})
        contents = page.get_contents()
        serializer.objects[local] = serializer.stream(head, zlib.compress(contents.get_data() if contents is not None else b"")), True
        forms.append(local)
    return Backdrop(tuple(serializer.objects), tuple(forms), tuple(dict(page.anchors) for page in document.pages),
                    tuple(float(page.height) for page in document.pages))


def write(document: Any, under: Backdrop | None = None, drawings: Sequence[bytes] = ()) -> bytes:
    """The PDF of a :func:`layout` document; each page drawn over the same page of ``under`` and
    over the PDF operators of ``drawings`` (in points, from the page's bottom left corner)."""

    def finish(_document: Any, pdf: pydyf.PDF) -> None:
        pages = [o for o in pdf.objects if isinstance(o, pydyf.Dictionary) and o.get("Type") == "/Page"]
        first = len(pdf.objects)
        if under is not None:
            for chunks, stream in under.objects:
                pdf.add_object(_Serialized(_joined(chunks, first), stream))
        for number, page in enumerate(pages):
            operators = []
            if under is not None and number < len(under.forms):
                # WeasyPrint's pages share one resources dictionary: each gets a copy naming its own backdrop page
                shared = pdf.objects[int(page["Resources"].split()[0])]
                resources = pydyf.Dictionary({**shared, "XObject": pydyf.Dictionary(
                    {**shared["XObject"], f"Backdrop{number}": b"%d 0 R" % (first + under.forms[number])})})
                pdf.add_object(resources)
                page["Resources"] = resources.reference
                operators.append(b"q /Backdrop%d Do Q" % number)
            if number < len(drawings) and drawings[number]:
                operators.append(b"q " + drawings[number] + b" Q")
            if operators:
                below = pydyf.Stream(operators, compress=True)
                pdf.add_object(below)
                page["Contents"] = pydyf.Array([below.reference, page["Contents"]])
        names = pdf.catalog.get("Names")
        if names is not None:  # the ids the layout was measured by are no destinations of the document
            names.pop("Dests", None)

    return bytes(document.write_pdf(finisher=finish))
