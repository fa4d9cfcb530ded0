"""Text drawn over a backdrop without a layout engine (examportal/pdf_text.py): runs from the
slot's markup, lines broken where CSS would break them, a block too long for its place set
smaller, each character from a face that has it."""
from __future__ import annotations

import re

import pytest

from examportal.pdf_text import Face, Slot, TextStyle, draw, lines, parse, styled

CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:/-ąęł"


def _face(name: str, resource: str, chars: str = CHARS, width: float = 0.5) -> Face:
    glyphs = {char: 10 + index for index, char in enumerate(chars)}
    return Face(name=name, resource=resource, ascent=0.9, descent=0.2, glyphs=glyphs,
                widths=dict.fromkeys(glyphs.values(), width), default_width=1.0)


SANS = TextStyle(face="Sans", size=10.0, color=(0.0, 0.0, 0.0))
BOLD = TextStyle(face="Sans-Bold", size=10.0, color=(0.0, 0.0, 0.0))
MONO = TextStyle(face="Mono", size=8.0, color=(0.2, 0.2, 0.2), break_all=True)
FACES = {"Sans": _face("Sans", "F1"), "Sans-Bold": _face("Sans-Bold", "F2"), "Mono": _face("Mono", "F3", width=0.6),
         "Cyr": _face("Cyr", "F4", chars="ОленаШвчко ")}


def _slot(width: float = 100.0, height: float = 11.0, align: str = "left", line_height: float | None = None) -> Slot:
    return Slot(box=(10.0, 20.0, 10.0 + width, 20.0 + height), align=align, line_height=line_height, style=SANS,
                inline={"strong": BOLD, "span": SANS, "span.url": MONO})


def _text(line) -> str:
    return "".join(piece.text for piece in line)


def test_the_runs_of_each_slot_come_from_its_markup_with_the_styles_of_its_elements():
    html = ('<div><p class="x slot" data-slot="number">nr <strong>VCC/1</strong> &amp; <span class="url">a/b</span>'
            '<br>next</p><p data-slot="unknown">not a place</p><p>no slot</p></div>')
    slots = {"number": _slot()}  # a page's places: a block without one is not drawn there
    runs = {name: styled(fragment, slots[name]) for name, fragment in parse(html).items() if name in slots}
    assert runs == {"number": [("nr ", SANS), ("VCC/1", BOLD), (" & ", SANS), ("a/b", MONO), ("\n", SANS), ("next", SANS)]}


def test_lines_break_at_spaces_collapse_white_space_and_keep_forced_breaks():
    runs = [("  one   two\n three ", SANS), ("four", BOLD), ("\n", SANS), ("five", SANS)]
    # each character 5 px wide: "one two" is 35 px, "one two three" 65 px
    set_lines = lines(runs, 40.0, FACES)
    assert [_text(line) for line in set_lines] == ["one two", "three", "four", "five"]
    assert [_text(line) for line in lines(runs, 1000.0, FACES)] == ["one two three four", "five"]


def test_break_all_text_breaks_anywhere_and_a_word_too_long_for_a_line_is_cut():
    url = [("https://x.pl/abcdefghij", MONO)]  # 4.8 px a character
    assert all(sum(piece.width for piece in line) <= 50.0 for line in lines(url, 50.0, FACES))
    assert "".join(_text(line) for line in lines(url, 50.0, FACES)) == "https://x.pl/abcdefghij"
    word = [("Brzęczyszczykiewicz", SANS)]
    cut = lines(word, 30.0, FACES)
    assert [_text(line) for line in cut] == ["Brzęcz", "yszczy", "kiewic", "z"]


def _operators(ops: bytes) -> list[tuple[str, float, float, float, str]]:
    """(font, size, x, y, glyphs) of each text object."""
    return [(font, float(size), float(x), float(y), glyphs) for font, size, x, y, glyphs in
            re.findall(rb"BT /(\w+) ([\d.]+) Tf [\d. ]+ rg ([\d.-]+) ([\d.-]+) Td <([0-9a-f]*)> Tj ET", ops)
            for font, size, x, y, glyphs in [(font.decode(), size, x, y, glyphs.decode())]]


def test_a_block_is_aligned_in_its_place_on_the_first_lines_baseline():
    runs = [("ab", SANS)]  # 10 px wide
    (left,) = _operators(draw(runs, _slot(align="left"), FACES, page_height=100.0))
    (centred,) = _operators(draw(runs, _slot(align="center"), FACES, page_height=100.0))
    (right,) = _operators(draw(runs, _slot(align="right"), FACES, page_height=100.0))
    assert (left[2], centred[2], right[2]) == pytest.approx((10 * 0.75, 55 * 0.75, 100 * 0.75))
    # normal line height: ascent + descent; the baseline an ascent below the top (page y upwards, in points)
    assert left[3] == pytest.approx((100 - (20 + 9)) * 0.75)
    assert left[0] == "F1" and left[1] == pytest.approx(7.5) and left[4] == "000a000b"


def test_a_block_with_more_lines_than_its_place_is_set_smaller_until_it_fits():
    runs = [("aaaa bbbb cccc", SANS)]  # 70 px at 10 px; the place is 60 px wide and one line high
    operators = _operators(draw(runs, _slot(width=60.0), FACES, page_height=100.0))
    assert len({y for _f, _s, _x, y, _g in operators}) == 1  # one line
    assert operators[0][1] < 7.5 and operators[0][1] >= 7.5 * 0.5
    # Too long to fit on one line even at half its size: two lines sharing the place.
    long = [("aaaa bbbb cccc dddd eeee ffff", SANS)]
    operators = _operators(draw(long, _slot(width=60.0, line_height=11.0), FACES, page_height=100.0))
    baselines = sorted({y for _f, _s, _x, y, _g in operators}, reverse=True)
    assert len(baselines) == 2 and operators[0][1] == pytest.approx(7.5 * 0.5, rel=0.06)
    assert baselines[0] - baselines[1] == pytest.approx(11.0 / 2 * 0.75)


def test_a_character_missing_from_the_face_is_drawn_from_another_that_has_it():
    operators = _operators(draw([("ab Олена", SANS)], _slot(width=500.0), FACES, page_height=100.0))
    assert [font for font, *_rest in operators] == ["F1", "F1", "F4"]  # "ab", " ", the name
    first, _space, second = operators
    assert second[2] == pytest.approx(first[2] + 3 * 5 * 0.75)  # after "ab " in the first face
    assert second[4] == "".join(f"{FACES['Cyr'].glyphs[c]:04x}" for c in "Олена")
