"""IMS QTI 3.0 export and import of theory-test items, as a zipped content package.

Each item becomes one ``qti-assessment-item`` file (``items/<id>.xml``) listed as a resource in
``imsmanifest.xml``. The mapping, which each question type declares (the ``qti_*`` attributes and
methods of its class in ``items``; this module writes and reads the XML of the three interactions):

==================  =========================================  ===============================
item type           interaction                                response declaration
==================  =========================================  ===============================
single_choice       ``qti-choice-interaction`` max-choices=1    single / identifier
multiple_choice     ``qti-choice-interaction`` max-choices=n    multiple / identifier
true_false          ``qti-choice-interaction``, choices         single / identifier
                    ``true`` and ``false``, not shuffled
ordering            ``qti-order-interaction``                   ordered / identifier
matching            ``qti-match-interaction`` (two match sets)  multiple / directedPair
==================  =========================================  ===============================

Response processing is "match the correct response" (all-or-nothing, as examportal scores) and
always shows the rationale, which is a ``qti-modal-feedback``. Every text is written as
``<span xml:lang="pl">`` followed, when there is a translation, by
``<span xml:lang="en" class="qti-hidden">``, so a QTI player shows Polish and nothing is lost.
What QTI has no place for in an item (examportal's item id, version, type and criterion tags) is
in the manifest, on each resource, as ``<ep:item>`` in the ``urn:x-examportal:qti-item:1``
namespace. A package from elsewhere without it still imports: the type is inferred from the
interaction, the version defaults to 1 and the criteria are left empty for a person to tag.

``import_package(export_package(items)) == items`` holds for every valid bank.

Imported XML is parsed by expat with DOCTYPE and entity declarations refused (the standard
library parser would otherwise expand internal entities), and zip members are size-capped.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

from .items import REGISTRY, Item, ItemFormatError, Option, QuestionType, Review, Text, get_type, validate

__all__ = [
    "CP_NS",
    "EXT_NS",
    "QTI_NS",
    "ItemMeta",
    "QtiError",
    "export_package",
    "import_package",
    "item_from_qti",
    "item_to_qti",
    "parse_xml",
]

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
EXT_NS = "urn:x-examportal:qti-item:1"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
QTI_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
ITEM_RESOURCE_TYPE = "imsqti_item_xmlv3p0"
MANIFEST = "imsmanifest.xml"

RESPONSE_ID = "RESPONSE"
FEEDBACK_ID = "FEEDBACK"
RATIONALE_ID = "RATIONALE"

MAX_MEMBER_BYTES = 2 * 1024 * 1024
"""No single file of a package may unpack to more than this (a zip bomb guard)."""
MAX_MEMBERS = 20_000

_LANG = f"{{{XML_NS}}}lang"
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
MATCH_INTERACTION = "qti-match-interaction"
INTERACTIONS = ("qti-choice-interaction", "qti-order-interaction", MATCH_INTERACTION)
"""The interactions this module writes and reads; a question type's ``qti_interaction`` is one of them."""

class QtiError(ValueError):
    """A QTI package or item cannot be exported or imported; the message names the file."""


@dataclass(frozen=True)
class ItemMeta:
    """What the manifest records about an item besides its QTI content."""

    id: str
    version: int
    type: str
    criteria: tuple[str, ...]
    difficulty: float | None = None
    review: Review = field(default_factory=Review)


REVIEW_ATTRIBUTES = ("state", "author", "reviewer", "law_as_of")


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


def _cp(tag: str) -> str:
    return f"{{{CP_NS}}}{tag}"


def _ext(tag: str) -> str:
    return f"{{{EXT_NS}}}{tag}"


def _qti_identifier(item_id: str) -> str:
    """QTI identifiers are NCNames; bank ids start with a digit, so they get a prefix."""
    return item_id if _NCNAME.fullmatch(item_id) else f"item-{item_id}"


def _file_name(item_id: str) -> str:
    return f"items/{item_id}.xml"


# --------------------------------------------------------------------------- export


def _put_text(parent: ET.Element, text: Text) -> None:
    pl = ET.SubElement(parent, "span", {_LANG: "pl"})
    pl.text = text.pl
    if text.en is not None:
        en = ET.SubElement(parent, "span", {_LANG: "en", "class": "qti-hidden"})
        en.text = text.en


def _value_list(parent: ET.Element, values: Sequence[str]) -> None:
    for value in values:
        ET.SubElement(parent, "qti-value").text = value


def _set_outcome(parent: ET.Element, identifier: str, base_type: str, value: str) -> None:
    setter = ET.SubElement(parent, "qti-set-outcome-value", {"identifier": identifier})
    ET.SubElement(setter, "qti-base-value", {"base-type": base_type}).text = value


def _response_processing(root: ET.Element, with_feedback: bool) -> None:
    processing = ET.SubElement(root, "qti-response-processing")
    condition = ET.SubElement(processing, "qti-response-condition")
    when = ET.SubElement(condition, "qti-response-if")
    match = ET.SubElement(when, "qti-match")
    ET.SubElement(match, "qti-variable", {"identifier": RESPONSE_ID})
    ET.SubElement(match, "qti-correct", {"identifier": RESPONSE_ID})
    _set_outcome(when, "SCORE", "float", "1")
    otherwise = ET.SubElement(condition, "qti-response-else")
    _set_outcome(otherwise, "SCORE", "float", "0")
    if with_feedback:
        _set_outcome(processing, FEEDBACK_ID, "identifier", RATIONALE_ID)


def _choices(parent: ET.Element, tag: str, options: Sequence[Option], extra: dict[str, str] | None = None) -> None:
    for option in options:
        choice = ET.SubElement(parent, tag, {"identifier": option.id, **(extra or {})})
        _put_text(choice, option.text)


def _new_interaction(body: ET.Element, tag: str, stem: Text, **attrs: str) -> ET.Element:
    interaction = ET.SubElement(body, tag, {"response-identifier": RESPONSE_ID, **attrs})
    _put_text(ET.SubElement(interaction, "qti-prompt"), stem)
    return interaction


def _write_interaction(item: Item, question_type: QuestionType, body: ET.Element) -> None:
    interaction = _new_interaction(body, question_type.qti_interaction, item.stem, **question_type.qti_attributes(item))
    if question_type.qti_interaction == MATCH_INTERACTION:
        # The premises and the responses, each in its match set.
        for group in (item.premises, item.responses):
            match_set = ET.SubElement(interaction, "qti-simple-match-set")
            _choices(match_set, "qti-simple-associable-choice", group, {"match-max": "1"})
    else:
        _choices(interaction, "qti-simple-choice", question_type.qti_fixed_choices or item.options)


def item_to_qti(item: Item) -> bytes:
    """One item as a QTI 3.0 ``qti-assessment-item`` document (UTF-8 bytes)."""
    problems = validate(item)
    if problems:
        raise QtiError(f"{item.id}: cannot export an invalid item: {problems[0]}")
    question_type = get_type(item.type)  # known: an unknown type is a problem validate reports
    # Written with unprefixed names under a default xmlns, the way QTI files are usually read.
    root = ET.Element("qti-assessment-item", {
        "xmlns": QTI_NS,
        f"{{{XSI_NS}}}schemaLocation": f"{QTI_NS} {QTI_SCHEMA}",
        "identifier": _qti_identifier(item.id),
        "title": item.id,
        "adaptive": "false",
        "time-dependent": "false",
        _LANG: "pl",
    })
    declaration = ET.SubElement(root, "qti-response-declaration", {"identifier": RESPONSE_ID})
    score = ET.SubElement(root, "qti-outcome-declaration", {
        "identifier": "SCORE", "cardinality": "single", "base-type": "float",
    })
    default = ET.SubElement(score, "qti-default-value")
    _value_list(default, ["0"])
    if item.rationale is not None:
        ET.SubElement(root, "qti-outcome-declaration", {
            "identifier": FEEDBACK_ID, "cardinality": "single", "base-type": "identifier",
        })
    body = ET.SubElement(root, "qti-item-body")
    _write_interaction(item, question_type, body)
    declaration.set("cardinality", question_type.qti_cardinality)
    declaration.set("base-type", question_type.qti_base_type)
    _value_list(ET.SubElement(declaration, "qti-correct-response"), question_type.qti_correct(item))
    _response_processing(root, with_feedback=item.rationale is not None)
    if item.rationale is not None:
        feedback = ET.SubElement(root, "qti-modal-feedback", {
            "outcome-identifier": FEEDBACK_ID, "identifier": RATIONALE_ID, "show-hide": "show",
            "title": "Uzasadnienie",
        })
        _put_text(ET.SubElement(ET.SubElement(feedback, "qti-content-body"), "p"), item.rationale)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _manifest(items: Sequence[Item]) -> bytes:
    root = ET.Element("manifest", {
        "xmlns": CP_NS,
        "xmlns:ep": EXT_NS,
        "identifier": "examportal-item-bank",
    })
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "QTI Package"
    ET.SubElement(metadata, "schemaversion").text = "3.0.0"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    for item in items:
        href = _file_name(item.id)
        resource = ET.SubElement(resources, "resource", {
            "identifier": f"res-{item.id}", "type": ITEM_RESOURCE_TYPE, "href": href,
        })
        ext = ET.SubElement(ET.SubElement(resource, "metadata"), "ep:item", {
            "id": item.id, "version": str(item.version), "type": item.type,
        })
        for code in item.criteria:
            ET.SubElement(ext, "ep:criterion").text = code
        if item.difficulty is not None:
            ext.set("difficulty", repr(item.difficulty))
        if item.review != Review():
            ET.SubElement(ext, "ep:review", {name: value for name in REVIEW_ATTRIBUTES
                                             if (value := getattr(item.review, name)) is not None})
        ET.SubElement(resource, "file", {"href": href})
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export_package(items: Sequence[Item]) -> bytes:
    """A QTI 3.0 content package (zip bytes) with one resource per item, in the given order.

    The zip is byte-for-byte reproducible for the same items (fixed member timestamps).
    """
    duplicates = sorted(item_id for item_id, n in Counter(i.id for i in items).items() if n > 1)
    if duplicates:
        raise QtiError(f"cannot export: item id {duplicates[0]!r} appears more than once")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add(MANIFEST, _manifest(items))
        for item in items:
            add(_file_name(item.id), item_to_qti(item))
    return buffer.getvalue()


# --------------------------------------------------------------------------- import


def parse_xml(data: bytes, source: str) -> ET.Element:
    """Parse untrusted XML; a DOCTYPE or any entity declaration is refused with a QtiError."""

    def refuse(*_args: Any) -> Any:
        raise QtiError(f"{source}: DOCTYPE and entity declarations are not allowed")

    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = refuse
    checker.EntityDeclHandler = refuse
    checker.ExternalEntityRefHandler = refuse
    try:
        checker.Parse(data, True)
    except expat.ExpatError as error:
        raise QtiError(f"{source}: not well-formed XML: {error}") from None
    try:
        return ET.fromstring(data)  # noqa: S314  (the expat pass above refused DOCTYPE and entity declarations)
    except ET.ParseError as error:
        raise QtiError(f"{source}: not well-formed XML: {error}") from None


def _read_text(element: ET.Element, source: str, where: str) -> Text:
    spans = {span.get(_LANG): span for span in element.findall(_q("span")) if span.get(_LANG)}
    if "pl" in spans:
        en = spans.get("en")
        return Text(pl=spans["pl"].text or "", en=None if en is None else (en.text or ""))
    # Content from another tool: all of its text, in Polish by the package's declaration.
    text = " ".join("".join(element.itertext()).split())
    if not text:
        raise QtiError(f"{source}: {where} has no text")
    return Text(pl=text)


def _one(parent: ET.Element, tag: str, source: str) -> ET.Element:
    found = parent.findall(_q(tag))
    if len(found) != 1:
        raise QtiError(f"{source}: expected exactly one <{tag}>, found {len(found)}")
    return found[0]


def _read_options(parent: ET.Element, tag: str, source: str) -> tuple[Option, ...]:
    options = []
    for index, choice in enumerate(parent.findall(_q(tag))):
        identifier = choice.get("identifier")
        if not identifier:
            raise QtiError(f"{source}: <{tag}> number {index + 1} has no identifier")
        options.append(Option(id=identifier, text=_read_text(choice, source, f"choice {identifier!r}")))
    return tuple(options)


def _infer_type(interaction: ET.Element, cardinality: str, options: Sequence[Option]) -> str:
    """The type of an item from elsewhere (no ``ep:item``): among the types written as this
    interaction, those with this cardinality (if none has it, all of them); of these, the one
    whose fixed choices are exactly these options, else the first registered without fixed
    choices (single choice before multiple choice). A mismatch is then reported by the caller."""
    tag = interaction.tag.removeprefix(f"{{{QTI_NS}}}")
    same_interaction = [t for t in REGISTRY.values() if t.qti_interaction == tag]
    candidates = [t for t in same_interaction if t.qti_cardinality == cardinality] or same_interaction
    ids = [o.id for o in options]
    fixed = [t for t in candidates if t.qti_fixed_choices and [c.id for c in t.qti_fixed_choices] == ids]
    return (fixed or [t for t in candidates if not t.qti_fixed_choices] or candidates)[0].name


def item_from_qti(data: bytes, meta: ItemMeta | None = None, source: str = "item") -> Item:
    """Read one ``qti-assessment-item`` document; ``meta`` comes from the manifest when present."""
    root = parse_xml(data, source)
    if root.tag != _q("qti-assessment-item"):
        raise QtiError(f"{source}: root element is {root.tag!r}, expected qti-assessment-item in {QTI_NS}")
    declarations = [d for d in root.findall(_q("qti-response-declaration")) if d.get("identifier") == RESPONSE_ID]
    if len(declarations) != 1:
        raise QtiError(f"{source}: expected one qti-response-declaration with identifier {RESPONSE_ID}")
    declaration = declarations[0]
    cardinality = declaration.get("cardinality", "")
    base_type = declaration.get("base-type", "")
    correct = declaration.find(_q("qti-correct-response"))
    values = [] if correct is None else [(v.text or "").strip() for v in correct.findall(_q("qti-value"))]

    body = _one(root, "qti-item-body", source)
    supported = {_q(tag) for tag in INTERACTIONS}
    interactions = [child for child in body.iter() if child.tag in supported]
    if len(interactions) != 1:
        raise QtiError(f"{source}: expected exactly one supported interaction, found {len(interactions)}")
    interaction = interactions[0]
    if interaction.get("response-identifier") != RESPONSE_ID:
        raise QtiError(f"{source}: the interaction must answer {RESPONSE_ID}")
    prompt = interaction.find(_q("qti-prompt"))
    stem = _read_text(prompt if prompt is not None else body, source, "the question")

    options: tuple[Option, ...] = ()
    premises: tuple[Option, ...] = ()
    responses: tuple[Option, ...] = ()
    if interaction.tag == _q(MATCH_INTERACTION):
        sets = interaction.findall(_q("qti-simple-match-set"))
        if len(sets) != 2:
            raise QtiError(f"{source}: a match interaction needs two qti-simple-match-set elements")
        premises = _read_options(sets[0], "qti-simple-associable-choice", source)
        responses = _read_options(sets[1], "qti-simple-associable-choice", source)
    else:
        options = _read_options(interaction, "qti-simple-choice", source)

    item_type = meta.type if meta is not None else _infer_type(interaction, cardinality, options)
    try:
        question_type = get_type(item_type)
    except ItemFormatError:
        raise QtiError(f"{source}: unknown item type {item_type!r}") from None
    expected = (question_type.qti_interaction, question_type.qti_cardinality, question_type.qti_base_type)
    found = (interaction.tag.removeprefix(f"{{{QTI_NS}}}"), cardinality, base_type)
    if found != expected:
        raise QtiError(
            f"{source}: a {item_type} item needs {expected[0]} with cardinality {expected[1]} "
            f"and base-type {expected[2]}, found {found[0]} / {found[1]} / {found[2]}"
        )
    try:
        key = question_type.key_from_qti(values)
    except ItemFormatError as error:
        raise QtiError(f"{source}: {error}") from None
    if question_type.qti_fixed_choices:
        options = ()  # the type's own choices, not the item's options

    rationale = None
    for feedback in root.findall(_q("qti-modal-feedback")):
        if feedback.get("identifier") == RATIONALE_ID:
            content = feedback.find(_q("qti-content-body"))
            paragraph = None if content is None else content.find(_q("p"))
            rationale = _read_text(paragraph if paragraph is not None else feedback, source, "the rationale")

    identifier = root.get("identifier", "")
    return Item(
        id=meta.id if meta is not None else (root.get("title") or identifier),
        version=meta.version if meta is not None else 1,
        type=item_type,
        criteria=meta.criteria if meta is not None else (),
        difficulty=meta.difficulty if meta is not None else None,
        review=meta.review if meta is not None else Review(),
        stem=stem,
        key=key,
        options=options,
        premises=premises,
        responses=responses,
        rationale=rationale,
    )


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise QtiError(f"{name}: listed in {MANIFEST} but missing from the package") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise QtiError(f"{name}: larger than {MAX_MEMBER_BYTES} bytes unpacked")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as error:
        raise QtiError(f"{name}: cannot be read from the package: {error}") from None


def _resource_meta(resource: ET.Element) -> ItemMeta | None:
    ext = resource.find(f"{_cp('metadata')}/{_ext('item')}")
    if ext is None:
        return None
    version_text = ext.get("version", "1")
    if not version_text.isdigit():
        raise QtiError(f"{MANIFEST}: resource {resource.get('identifier')!r} has version {version_text!r}")
    difficulty_text = ext.get("difficulty")
    try:
        difficulty = None if difficulty_text is None else float(difficulty_text)
    except ValueError:
        raise QtiError(f"{MANIFEST}: resource {resource.get('identifier')!r} has difficulty {difficulty_text!r}") from None
    review = ext.find(_ext("review"))
    return ItemMeta(
        id=ext.get("id", ""),
        version=int(version_text),
        type=ext.get("type", ""),
        criteria=tuple((c.text or "").strip() for c in ext.findall(_ext("criterion"))),
        difficulty=difficulty,
        review=Review() if review is None else Review(**{
            name: value for name in REVIEW_ATTRIBUTES if (value := review.get(name)) is not None}),
    )


def import_package(source: bytes | str | Path | IO[bytes]) -> list[Item]:
    """Read the items of a QTI 3.0 content package (zip bytes, a path or a binary file).

    Items come back in manifest order. Anything unreadable raises QtiError naming the file.
    Resources that are not items (stimuli, tests) are skipped.
    """
    stream: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as error:
        raise QtiError(f"package: not a readable zip file ({error})") from None
    with archive:
        if len(archive.infolist()) > MAX_MEMBERS:
            raise QtiError(f"package: more than {MAX_MEMBERS} files")
        if MANIFEST not in archive.namelist():
            raise QtiError(f"{MANIFEST}: missing from the package")
        manifest = parse_xml(_read_member(archive, MANIFEST), MANIFEST)
        if manifest.tag != _cp("manifest"):
            raise QtiError(f"{MANIFEST}: root element is {manifest.tag!r}, expected manifest in {CP_NS}")
        items = []
        for resource in manifest.iter(_cp("resource")):
            if not resource.get("type", "").startswith(ITEM_RESOURCE_TYPE):
                continue
            href = resource.get("href")
            if not href:
                raise QtiError(f"{MANIFEST}: resource {resource.get('identifier')!r} has no href")
            items.append(item_from_qti(_read_member(archive, href), _resource_meta(resource), href))
    return items
