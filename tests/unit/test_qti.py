"""QTI 3.0 export/import: exact round trip, structural validity, hostile input refused."""
from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from question_bank.items import Item, Option, Text, load_items
from question_bank.qti import (
    CP_NS,
    QTI_NS,
    ItemMeta,
    QtiError,
    export_package,
    import_package,
    item_from_qti,
    item_to_qti,
)

ITEMS_DIR = Path(__file__).resolve().parents[2] / "question_bank" / "items"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

EXPECTED_SHAPE = {
    "single_choice": ("qti-choice-interaction", "single", "identifier"),
    "multiple_choice": ("qti-choice-interaction", "multiple", "identifier"),
    "true_false": ("qti-choice-interaction", "single", "identifier"),
    "ordering": ("qti-order-interaction", "ordered", "identifier"),
    "matching": ("qti-match-interaction", "multiple", "directedPair"),
}


def q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


@pytest.fixture(scope="module")
def bank() -> list[Item]:
    return load_items(ITEMS_DIR)


@pytest.fixture(scope="module")
def package(bank) -> bytes:
    return export_package(bank)


def _members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _repack(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_whole_bank_round_trips_exactly(bank, package):
    assert import_package(package) == bank


def test_round_trip_from_a_file_path(bank, package, tmp_path):
    path = tmp_path / "bank.zip"
    path.write_bytes(package)
    assert import_package(path) == bank


def test_export_is_reproducible(bank, package):
    assert export_package(bank) == package


def test_manifest_lists_one_resource_per_item(bank, package):
    members = _members(package)
    manifest = ET.fromstring(members["imsmanifest.xml"])
    assert manifest.tag == f"{{{CP_NS}}}manifest"
    resources = manifest.findall(f"{{{CP_NS}}}resources/{{{CP_NS}}}resource")
    assert len(resources) == len(bank)
    for resource, item in zip(resources, bank, strict=True):
        assert resource.get("type") == "imsqti_item_xmlv3p0"
        assert resource.get("href") in members
        files = resource.findall(f"{{{CP_NS}}}file")
        assert [f.get("href") for f in files] == [resource.get("href")]
        assert item.id in resource.get("href")
    assert len(members) == len(bank) + 1


def test_every_item_file_is_structurally_qti3(bank, package):
    members = _members(package)
    for item in bank:
        root = ET.fromstring(members[f"items/{item.id}.xml"])
        assert root.tag == q("qti-assessment-item"), item.id
        assert root.get(XML_LANG) == "pl"
        assert root.get("identifier") and root.get("title") == item.id
        interaction_tag, cardinality, base_type = EXPECTED_SHAPE[item.type]
        declaration = root.find(q("qti-response-declaration"))
        assert declaration is not None and declaration.get("identifier") == "RESPONSE"
        assert (declaration.get("cardinality"), declaration.get("base-type")) == (cardinality, base_type), item.id
        values = declaration.findall(f"{q('qti-correct-response')}/{q('qti-value')}")
        expected_values = 1 if item.type == "true_false" else len(item.key)  # type: ignore[arg-type]
        assert len(values) == expected_values, item.id
        body = root.find(q("qti-item-body"))
        interactions = [child for child in body if child.tag.startswith(f"{{{QTI_NS}}}qti-") and "interaction" in child.tag]
        assert [i.tag for i in interactions] == [q(interaction_tag)], item.id
        assert interactions[0].get("response-identifier") == "RESPONSE"
        assert interactions[0].find(q("qti-prompt")) is not None
        assert root.find(q("qti-response-processing")) is not None
        feedback = root.find(q("qti-modal-feedback"))
        assert feedback is not None and feedback.get("outcome-identifier") == "FEEDBACK"


def test_choice_interaction_max_choices_follows_type(bank, package):
    members = _members(package)
    for item in bank:
        if item.type not in ("single_choice", "multiple_choice", "true_false"):
            continue
        root = ET.fromstring(members[f"items/{item.id}.xml"])
        interaction = root.find(f"{q('qti-item-body')}/{q('qti-choice-interaction')}")
        choices = interaction.findall(q("qti-simple-choice"))
        if item.type == "true_false":
            assert [c.get("identifier") for c in choices] == ["true", "false"]
            assert interaction.get("max-choices") == "1" and interaction.get("shuffle") == "false"
        elif item.type == "single_choice":
            assert interaction.get("max-choices") == "1"
        else:
            assert int(interaction.get("max-choices")) == len(choices) > 1


def _sample() -> Item:
    return Item(
        id="13881-1.1.a-900", version=3, type="single_choice", criteria=("1.1.a", "1.1.b"),
        stem=Text(pl="Które źródło danych jest wewnętrzne?\nWybierz jedno.", en="Which data source is internal?"),
        options=(Option("a", Text(pl="Historia zamówień w CRM", en="Order history in the CRM")),
                 Option("b", Text(pl="Rejestr REGON", en="The REGON register")),
                 Option("c", Text(pl="Portal branżowy <B2B> & co.", en="A trade portal"))),
        key=("a",), rationale=None,
    )


def test_multiline_and_markup_characters_round_trip():
    assert import_package(export_package([_sample()])) == [_sample()]


def test_item_without_rationale_or_translation_round_trips():
    item = dataclasses.replace(_sample(), stem=Text(pl="Pytanie bez tłumaczenia?"))
    assert import_package(export_package([item])) == [item]


def test_export_refuses_invalid_items_and_duplicate_ids():
    with pytest.raises(QtiError, match=re.escape("13881-1.1.a-900: cannot export an invalid item: key is missing")):
        export_package([dataclasses.replace(_sample(), key=None)])
    with pytest.raises(QtiError, match="appears more than once"):
        export_package([_sample(), _sample()])


def test_foreign_item_without_manifest_metadata_gets_an_inferred_type():
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="{QTI_NS}" identifier="q1" title="Q1" adaptive="false" time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value><qti-value>C</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-item-body>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="3">
      <qti-prompt>Które kanały są <b>cyfrowe</b>?</qti-prompt>
      <qti-simple-choice identifier="A">E-mail</qti-simple-choice>
      <qti-simple-choice identifier="B">Targi</qti-simple-choice>
      <qti-simple-choice identifier="C">Webinar</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
</qti-assessment-item>""".encode()
    item = item_from_qti(xml, source="q1.xml")
    assert item.type == "multiple_choice" and item.id == "Q1" and item.version == 1
    assert item.stem == Text(pl="Które kanały są cyfrowe?")
    assert item.key == ("A", "C") and [o.text.pl for o in item.options] == ["E-mail", "Targi", "Webinar"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0">&lol2;</qti-assessment-item>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1">&xxe;</manifest>"""


def test_doctype_with_entities_in_an_item_is_refused(package):
    members = _members(package)
    name = next(n for n in members if n.startswith("items/"))
    members[name] = BILLION_LAUGHS
    with pytest.raises(QtiError, match=f"{name}: DOCTYPE and entity declarations are not allowed"):
        import_package(_repack(members))


def test_external_entity_in_the_manifest_is_refused(package):
    members = _members(package)
    members["imsmanifest.xml"] = EXTERNAL_ENTITY
    with pytest.raises(QtiError, match=re.escape("imsmanifest.xml: DOCTYPE and entity declarations are not allowed")):
        import_package(_repack(members))


def test_bare_doctype_is_refused():
    xml = b'<?xml version="1.0"?><!DOCTYPE html><qti-assessment-item xmlns="' + QTI_NS.encode() + b'"/>'
    with pytest.raises(QtiError, match=re.escape("x.xml: DOCTYPE")):
        item_from_qti(xml, source="x.xml")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("imsmanifest.xml"), "imsmanifest.xml: missing from the package"),
        (lambda m: m.pop(next(n for n in m if n.startswith("items/"))), "listed in imsmanifest.xml but missing"),
        (lambda m: m.update({"imsmanifest.xml": b"<manifest"}), "imsmanifest.xml: not well-formed XML"),
        (lambda m: m.update({"imsmanifest.xml": b"<other/>"}), "imsmanifest.xml: root element is 'other'"),
    ],
)
def test_broken_packages_name_the_file(package, mutate, message):
    members = _members(package)
    mutate(members)
    with pytest.raises(QtiError, match=message):
        import_package(_repack(members))


def test_item_with_wrong_root_or_shape_names_the_file():
    with pytest.raises(QtiError, match=re.escape("a.xml: root element is 'assessmentItem'")):
        item_from_qti(b"<assessmentItem/>", source="a.xml")
    xml = item_to_qti(_sample()).replace(b'cardinality="single"', b'cardinality="ordered"', 1)
    with pytest.raises(QtiError, match=r"b.xml: .*needs qti-choice-interaction with cardinality single"):
        item_from_qti(xml, ItemMeta(id="x", version=1, type="single_choice", criteria=()), source="b.xml")


def test_not_a_zip_is_refused():
    with pytest.raises(QtiError, match="package: not a readable zip file"):
        import_package(b"PK this is not a zip")
