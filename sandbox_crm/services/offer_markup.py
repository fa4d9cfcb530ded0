"""What the literal text of an offer template means: plain text with simple formatting, or HTML.

A candidate who types a letter writes plain text; the rendered offer must keep its line breaks
(a plain-text body used to become one paragraph, because HTML reads a line break as a space).
A template is read as **HTML** when its own text (not the merge-tag values) uses block-level
HTML tags (``<p>``, ``<h1>``, ``<table>``, ``<br>`` …): its layout then follows the tags, as
before. Otherwise it is **plain text** with a small, safe formatting language:

- a blank line starts a new paragraph; a single line break stays a line break;
- ``**bold**``;
- lines starting with ``- ``, ``* `` or ``• `` become a bulleted list;
- lines starting with ``# ``, ``## `` or ``### `` become headings.

Both kinds then pass one allow-list: known document tags and harmless attributes are kept;
any other tag (``<script>``, ``<iframe>``, ``<form>`` …) is shown as escaped text, event
handlers and ``javascript:`` links are dropped, comments removed. Merge-tag values were already
escaped by the template engine, so a value can never become a tag here; the ready-made lines
table (``{{ tabela_pozycji }}``) is trusted markup of our own and stays a table.

This adds to, not replaces, the other walls: the generated document is served with a
``sandbox`` Content-Security-Policy, framed in a sandboxed iframe, and WeasyPrint fetches only
``data:`` URLs. The module is pure (no request, no database).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from markupsafe import escape

TEXT = "text"
HTML = "html"

#: Tags whose presence in the template's own text makes it an HTML template.
BLOCK_TAGS = frozenset({
    "address", "article", "blockquote", "br", "caption", "col", "colgroup", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol",
    "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
INLINE_TAGS = frozenset({
    "a", "abbr", "b", "cite", "code", "del", "em", "i", "img", "ins", "mark", "q", "s", "small",
    "span", "strong", "sub", "sup", "u",
})
#: ``<style>`` is kept: its CSS cannot run code, and WeasyPrint and the document's CSP refuse any url().
ALLOWED_TAGS = BLOCK_TAGS | INLINE_TAGS | {"style"}
VOID_TAGS = frozenset({"br", "col", "hr", "img"})
ALLOWED_ATTRIBUTES = frozenset({
    "align", "alt", "class", "colspan", "dir", "height", "href", "lang", "rowspan", "scope", "src",
    "start", "style", "title", "type", "valign", "width",
})
SAFE_HREF = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)
SAFE_SRC = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)

_BLOCK_TAG_IN_SOURCE = re.compile(r"<\s*/?\s*(" + "|".join(sorted(BLOCK_TAGS, key=len, reverse=True)) + r")\b",
                                  re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*•]\s+")
_HEADING = re.compile(r"^\s*(#{1,3})\s+")
_BOLD = "**"


def template_format(literal_text: str) -> str:
    """:data:`HTML` when the template's own text uses block-level HTML tags, :data:`TEXT` otherwise."""
    return HTML if _BLOCK_TAG_IN_SOURCE.search(literal_text) else TEXT


def _attributes(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    kept = []
    for raw_name, raw_value in attrs:
        name, value = raw_name.lower(), raw_value or ""
        if name not in ALLOWED_ATTRIBUTES:
            continue
        if name == "href" and not SAFE_HREF.match(value.strip()):
            continue
        if name == "src" and not (tag == "img" and SAFE_SRC.match(value.strip())):
            continue
        kept.append(f' {name}="{escape(value)}"')
    return "".join(kept)


def _escaped_tag(raw: str | None) -> str:
    return str(escape(raw or ""))


@dataclass
class _Line:
    """One line of plain text: its kind (p, li, h1–h3), its HTML pieces, the inline tags open around it."""

    kind: str
    pieces: list[str]
    open_before: list[str]
    open_after: list[str]

    def html(self) -> str:
        return ("".join(f"<{tag}>" for tag in self.open_before) + "".join(self.pieces)
                + "".join(f"</{tag}>" for tag in reversed(self.open_after)))


class _Formatter(HTMLParser):
    """One pass over the rendered output: the allow-list always, the plain-text layout in TEXT mode."""

    def set_cdata_mode(self, *args: object, **kwargs: object) -> None:
        """No raw-text elements: what follows <script> (shown as text) or <style> is parsed like the
        rest, so an unclosed one cannot swallow the text after it, and nothing passes unexamined."""

    def __init__(self, mode: str) -> None:
        super().__init__(convert_charrefs=True)
        self.mode = mode
        self.out: list[str] = []
        # TEXT mode: the line being written (HTML pieces and its plain text, to recognise "- " and "# "),
        # the lines of the block (paragraph, list, heading) not yet written, the inline tags open.
        self.line: list[str] = []
        self.line_text: list[str] = []
        self.line_open: list[str] = []
        self.block: list[_Line] = []
        self.open_inline: list[str] = []
        self.raw_depth = 0  # inside a block element in TEXT mode (the lines table): copied as it is
        self.in_style = False

    @property
    def copying(self) -> bool:
        """Whether output goes straight out (HTML, or a block element inside plain text)."""
        return self.mode == HTML or self.raw_depth > 0

    # -- the allow-list ------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self._text(_escaped_tag(self.get_starttag_text()), escaped=True)
            return
        markup = f"<{tag}{_attributes(tag, attrs)}>"
        if tag == "style":
            self.in_style = True
            self.out.append(markup)
        elif self.copying:
            self.out.append(markup)
            if self.mode == TEXT and tag in BLOCK_TAGS and tag not in VOID_TAGS:
                self.raw_depth += 1
        elif tag in BLOCK_TAGS:
            # A block (the ready-made lines table) ends the paragraph and is copied as it is.
            self._end_line()
            self._flush_block()
            self.out.append(markup)
            if tag not in VOID_TAGS:
                self.raw_depth = 1
        else:
            self.line.append(markup)
            if tag not in VOID_TAGS:
                self.open_inline.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ALLOWED_TAGS and tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self._text(_escaped_tag(f"</{tag}>"), escaped=True)
        elif tag in VOID_TAGS:
            return
        elif tag == "style":
            self.in_style = False
            self.out.append("</style>")
        elif self.copying:
            self.out.append(f"</{tag}>")
            if self.mode == TEXT and tag in BLOCK_TAGS:
                self.raw_depth -= 1
        elif tag in self.open_inline:
            while self.open_inline:
                closed = self.open_inline.pop()
                self.line.append(f"</{closed}>")
                if closed == tag:
                    break
        # An end tag that closes nothing open is dropped.

    def handle_data(self, data: str) -> None:
        if self.in_style:
            # CSS is copied; a "<" (only an entity can put one here) is CSS-escaped, so it cannot end
            # the element and open another.
            self.out.append(data.replace("<", "\\3c "))
        else:
            self._text(data)

    def handle_comment(self, data: str) -> None:
        """Comments are dropped (a conditional comment is not something to pass on)."""

    def handle_decl(self, decl: str) -> None:
        """``<!doctype>`` and the like are dropped: the document around the body has its own."""

    def handle_pi(self, data: str) -> None:
        """Processing instructions are dropped."""

    def unknown_decl(self, data: str) -> None:
        """``<![CDATA[…]]>`` is dropped."""

    # -- the plain-text layout ------------------------------------------------------

    def _text(self, data: str, escaped: bool = False) -> None:
        text = data if escaped else str(escape(data))
        if self.copying:
            self.out.append(text)
            return
        for index, part in enumerate(text.split("\n")):
            if index:
                self._end_line()
            if part:
                self.line.append(part)
                self.line_text.append(part)

    def _end_line(self) -> None:
        text, pieces, open_before = "".join(self.line_text), self.line, self.line_open
        self.line, self.line_text, self.line_open = [], [], list(self.open_inline)
        if not text.strip() and not any(piece.startswith("<") for piece in pieces):
            self._flush_block()  # a blank line ends the paragraph (or list)
            return
        kind = "p"
        if (match := _HEADING.match(text)) is not None:
            kind = f"h{len(match.group(1))}"
            pieces = _strip_marker(pieces, match.end())
        elif (match := _BULLET.match(text)) is not None:
            kind = "li"
            pieces = _strip_marker(pieces, match.end())
        if self.block and (kind != self.block[-1].kind or kind.startswith("h")):
            self._flush_block()
        self.block.append(_Line(kind, _bold(pieces), open_before, list(self.open_inline)))

    def _flush_block(self) -> None:
        if not self.block:
            return
        first, last, kind = self.block[0], self.block[-1], self.block[0].kind
        if kind == "li":
            items = "".join(f"<li>{line.html()}</li>\n" for line in self.block)
            self.out.append(f"<ul>\n{items}</ul>\n")
        else:
            # The lines of a paragraph share its inline tags: opened before the first, closed after the last.
            inner = "<br>\n".join("".join(line.pieces) for line in self.block)
            whole = _Line(kind, [inner], first.open_before, last.open_after).html()
            self.out.append(f"<{kind}>{whole}</{kind}>\n")
        self.block = []

    def result(self) -> str:
        self.close()
        if self.mode == TEXT:
            if self.line_text or any(piece.startswith("<") for piece in self.line):
                self._end_line()
            self._flush_block()
        return "".join(self.out)


def _strip_marker(pieces: list[str], length: int) -> list[str]:
    """``pieces`` without the first ``length`` characters of text (the "- " or "# " marker)."""
    result = []
    for piece in pieces:
        kept = piece
        if length and not piece.startswith("<"):
            cut = min(length, len(piece))
            kept, length = piece[cut:], length - cut
        if kept:
            result.append(kept)
    return result


def _bold(pieces: list[str]) -> list[str]:
    """``**text**`` in the text pieces of one line as ``<strong>``; an unpaired ``**`` stays as typed."""
    pairs = sum(piece.count(_BOLD) for piece in pieces if not piece.startswith("<")) // 2
    if not pairs:
        return pieces
    result, opened, left = [], False, pairs * 2
    for piece in pieces:
        if piece.startswith("<") or _BOLD not in piece:
            result.append(piece)
            continue
        parts = piece.split(_BOLD)
        text = parts[0]
        for part in parts[1:]:
            if left:
                text += "</strong>" if opened else "<strong>"
                opened, left = not opened, left - 1
            else:
                text += _BOLD
            text += part
        result.append(text)
    return result


def format_output(rendered: str, mode: str) -> str:
    """The rendered template as the document body: allow-listed, and laid out when it is plain text."""
    formatter = _Formatter(mode)
    # A textarea sends CRLF; Jinja normalises the template's own text, but not the values.
    formatter.feed(rendered.replace("\r\n", "\n").replace("\r", "\n"))
    return formatter.result()
