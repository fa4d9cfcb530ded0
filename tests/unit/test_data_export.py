"""The copy of everything held about a person (examportal.records.export): every link of a table to
user_account is exported or excluded with a reason; the copy holds the person's data and documents
and nobody else's, and no secret."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from examportal.certification import rules as certificate_rules
from examportal.complaints import services as complaints
from examportal.extensions import db
from examportal.models import (
    AttemptItem,
    CommitteeMember,
    Criterion,
    CriterionResult,
    CriterionScore,
    OperatorAction,
    OperatorActionKind,
    OutboxMail,
    Role,
    Scoresheet,
    StoredFile,
    utcnow,
)
from examportal.records import export
from tests.appealtools import walker_objects
from tests.certtools import certification_world, make_certificate
from tests.factories import expiring, make_attempt, make_practical_attempt, make_renewal, make_user, record_training


def user_account_links() -> set[tuple[str, str]]:
    """Every (table, column) with a foreign key to user_account, read from the metadata."""
    return {(table.name, fk.parent.name) for table in db.metadata.tables.values() for fk in table.foreign_keys
            if fk.column.table.name == "user_account"}


def exported_links() -> set[tuple[str, str]]:
    return {link for section in export.SECTIONS for link in section.links}


def test_every_link_to_a_person_is_exported_or_excluded_with_a_reason(app):
    links = user_account_links()
    assert len(links) > 40  # the walk read the whole metadata
    exported, excluded = exported_links(), set(export.EXCLUDED)
    forgotten = links - exported - excluded
    assert not forgotten, ("tables holding people that the copy of their data (RODO art. 15) neither exports nor "
                           f"excludes with a reason: {sorted(forgotten)}; add a section in records/export.py, a "
                           "column to ACTOR_COLUMNS, or an entry with its reason to EXCLUDED")
    assert not exported & excluded, f"both exported and excluded: {sorted(exported & excluded)}"
    stale = (exported | excluded) - links
    assert not stale, f"links that are not foreign keys to user_account: {sorted(stale)}"
    for link, reason in export.EXCLUDED.items():
        assert len(str(reason).strip()) > 20, f"{link}: say why it is not exported"


def test_each_section_is_one_file():
    names = [section.filename for section in export.SECTIONS]
    assert len(names) == len(set(names)) and "about.json" not in names


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    holder, other = w["candidates"][0], w["candidates"][1]
    w["holder"], w["other"] = holder, other
    holder.phone = "+48 600 100 200"
    w["certificate"] = make_certificate(w["enrolments"][0], w["staff"])
    w["other_certificate"] = make_certificate(w["enrolments"][1], w["staff"])
    w["attempt"] = make_attempt(w["enrolments"][0])
    # walker_objects: the holder's appeal with a file, a declared panel member, a granted work review.
    w.update(walker_objects({"candidate": holder, "attempt": w["attempt"], "ic": w["ic"],
                             "enrolment": w["enrolments"][0], "staff": w["staff"]}))
    w["renewal"] = make_renewal(expiring(w["certificate"], certificate_rules.today() + timedelta(days=90)))
    complaints.file_complaint(institution_id=w["child"].id, name=holder.full_name, email=holder.email,
                              text="Skarga Łucji na organizację sesji.", locale="pl", user=holder)
    complaints.file_complaint(institution_id=w["child"].id, name=other.full_name, email=other.email,
                              text="Skarga Bogdana, poufna.", locale="pl", user=other)
    record_training(w["trainer"], other, w["ic"])
    _exam_work(w)
    db.session.commit()
    return w


def _exam_work(w: dict) -> None:
    """The holder's theory item as drawn (with its key), an operator's action, a practical attempt,
    a chair's scoresheet with a comment and the committee's result on a criterion."""
    enrolment, attempt, chair = w["enrolments"][0], w["attempt"], w["chair"]
    criterion = db.session.scalars(select(Criterion).order_by(Criterion.id)).first()
    snapshot = {"item": {"id": "T-1", "version": 1, "type": "single", "criteria": [criterion.code],
                         "stem": {"pl": "Pytanie?"}, "options": [{"id": "a", "text": {"pl": "Tak"}}],
                         "key": ["a"], "rationale": {"pl": "Bo tak."}}, "presented": {"options": ["a"]}}
    db.session.add(AttemptItem(attempt_id=attempt.id, position=1, item_id="T-1", item_version=1, fingerprint="f" * 64,
                               snapshot=snapshot, response=["a"]))
    db.session.add(OperatorAction(session_id=enrolment.session_id, attempt_id=attempt.id, kind=OperatorActionKind.INCIDENT,
                                  reason="Awaria myszy przy stanowisku 3.", operator_id=w["operator"].id))
    make_practical_attempt(enrolment)
    member = db.session.scalar(select(CommitteeMember).where(CommitteeMember.assessor_id == chair.id))
    sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id, submitted_at=utcnow())
    sheet.scores.append(CriterionScore(criterion_id=criterion.id, met=True, comment="Rzeczowa rozmowa z klientem."))
    db.session.add(sheet)
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=True,
                                   recorded_by_id=chair.id, recorded_at=utcnow()))


def _texts(copy: export.Export) -> str:
    return json.dumps(copy.files, ensure_ascii=False)


def test_the_copy_holds_the_persons_data_and_documents(world):
    holder, certificate = world["holder"], world["certificate"]
    copy = export.collect(holder)
    files = copy.files
    assert files["account.json"]["email"] == holder.email and files["account.json"]["pesel"] == holder.pesel
    assert files["account.json"]["phone"] == "+48 600 100 200"
    assert [r["role"] for r in files["roles.json"]] == ["candidate"]
    assert [e["id"] for e in files["enrolments.json"]] == [world["enrolments"][0].id]
    assert [a["id"] for a in files["theory_attempts.json"]] == [world["attempt"].id]
    (committee,) = files["committee.json"]
    assert committee["validation_decisions"] and committee["certification_decisions"]
    assert "protocol_pdf" not in committee["validation_decisions"][0]
    (sheet,) = committee["scoresheets"]
    assert sheet["criteria"][0]["comment"] == "Rzeczowa rozmowa z klientem." and "member_id" in sheet
    assert committee["criterion_results"][0]["recorded_by_id"] == world["chair"].id
    (theory,) = files["theory_attempts.json"]
    (item,) = theory["items"]
    # Their answer and which item it was; not the item's text, key or points (the test's content).
    assert item["response"] == ["a"] and item["as_shown"] == {"id": "T-1", "version": 1, "type": "single",
                                                             "criteria": [item["as_shown"]["criteria"][0]]}
    assert "points" not in item and "snapshot" not in item and "Pytanie?" not in _texts(copy)
    assert theory["operator_actions"][0]["reason"] == "Awaria myszy przy stanowisku 3."
    assert [p["enrolment_id"] for p in files["practical_attempts.json"]] == [world["enrolments"][0].id]
    assert [c["number"] for c in files["certificates.json"]] == [certificate.number]
    assert [a["id"] for a in files["appeals.json"]] == [world["appeal"].id]
    assert files["appeals.json"][0]["grounds"] == "Awaria komputera w trakcie testu."
    assert [r["id"] for r in files["renewals.json"]] == [world["renewal"].id]
    assert [r["id"] for r in files["work_reviews.json"]] == [world["work_review"].id]
    assert [c["text"] for c in files["complaints.json"]] == ["Skarga Łucji na organizację sesji."]
    assert [t["trainer_id"] for t in files["trainings.json"]] == [world["trainer"].id]  # by id, not name
    mails = list(db.session.scalars(select(OutboxMail.subject).where(OutboxMail.user_id == holder.id)))
    assert mails and sorted(m["subject"] for m in files["mails.json"]) == sorted(mails)
    # Audit: entries about their records (the certificate's issue) and entries they made.
    audited = {(e["action"], e["object_type"]) for e in files["audit.json"]}
    assert any(t == "certificate" for _a, t in audited)
    assert all("actor_label" not in e for e in files["audit.json"])  # an old entry's label may hold a name
    assert any(e["actor_id"] == holder.id for e in files["audit.json"])
    # Documents: the certificate as issued and every file they uploaded (appeal, renewal evidence).
    db.session.refresh(certificate)
    assert certificate.pdf in copy.documents.values()
    uploaded = list(db.session.scalars(select(StoredFile).where(StoredFile.owner_id == holder.id)))
    assert len(uploaded) == 2
    for stored in uploaded:
        assert stored.data in copy.documents.values()
    assert files["about.json"]["documents"] == sorted(copy.documents)


def test_before_the_decision_the_committees_working_papers_stay_closed(world, qualification):
    from tests.factories import add_member, enrol, make_session

    holder, chair = world["holder"], world["chair"]
    # The holder's next validation, scored and not yet decided.
    session = make_session(world["child"], qualification, title="Sesja bez decyzji")
    member = add_member(session, chair, declared=True)
    enrolment = enrol(session, holder)
    criterion = db.session.scalars(select(Criterion).order_by(Criterion.id)).first()
    sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id, submitted_at=utcnow())
    sheet.scores.append(CriterionScore(criterion_id=criterion.id, met=False, comment="Jeszcze bez decyzji."))
    db.session.add(sheet)
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=False,
                                   recorded_by_id=chair.id, recorded_at=utcnow()))
    db.session.commit()
    papers = {c["enrolment_id"]: c for c in export.collect(holder).files["committee.json"]}
    undecided, decided = papers[enrolment.id], papers[world["enrolments"][0].id]
    assert undecided["scoresheets"] == [] and undecided["decision_proposals"] == [] and undecided["criterion_results"] == []
    assert "Jeszcze bez decyzji." not in json.dumps(papers, ensure_ascii=False)
    assert decided["scoresheets"] and decided["criterion_results"]  # with the decision, they are the candidate's to see


def test_the_copy_holds_nobody_elses_data_and_no_secret(world):
    holder, other = world["holder"], world["other"]
    holder.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    db.session.commit()
    copy = export.collect(holder)
    text = _texts(copy)
    people = [world[k] for k in ("staff", "staff2", "child_staff", "chair", "member", "operator", "trainer",
                                 "appeals_member")] + [other, world["candidates"][2]]
    for person in people:
        for value in (person.first_name + " " + person.last_name, person.last_name, person.email):
            assert value not in text, f"someone else's data in the copy: {value!r}"
    assert other.pesel not in text and "Skarga Bogdana" not in text
    assert world["other_certificate"].number not in text
    for secret in (holder.password_hash, holder.totp_secret, "code_hash"):
        assert secret not in text
    assert not {"password_hash", "totp_secret", "totp_last_step"} & set(copy.files["account.json"])
    assert copy.files["account.json"]["second_factor"] is True


def test_an_institutions_person_gets_their_memberships_and_actions_by_id(world):
    chair = world["chair"]
    files = export.collect(chair).files
    assert [m["session_id"] for m in files["committee_memberships.json"]] == [world["session"].id]
    acted = {(a["record"], a["as"]) for a in files["actions.json"]}
    assert ("validation_decision", "decided_by_id") in acted
    assert files["competence.json"]  # the factories give every assessor a competence record
    text = json.dumps(files, ensure_ascii=False)
    for candidate in world["candidates"]:
        assert candidate.last_name not in text and candidate.email not in text


def test_the_zip_has_a_json_file_per_section_and_the_documents(world):
    copy = export.collect(world["holder"])
    with zipfile.ZipFile(io.BytesIO(export.to_zip(copy))) as archive:
        names = set(archive.namelist())
        assert {s.filename for s in export.SECTIONS} | {"about.json"} <= names
        assert set(copy.documents) <= names
        assert json.loads(archive.read("account.json"))["id"] == world["holder"].id


def test_a_person_with_nothing_but_an_account(app):
    person = make_user(Role.CANDIDATE)
    files = export.collect(person).files
    assert files["account.json"]["id"] == person.id and files["certificates.json"] == []
    assert files["about.json"]["not_included"]


def test_the_copy_holds_the_practical_work_naming_no_one_else(world):
    """The candidate's practical work is theirs (their answers and actions, as the committee read
    them); an operator's action in their workspace names the operator by reference only."""
    from examportal.models import PracticalAttempt
    from examportal.practical.services import owner_ref
    from sandbox_crm import api as sandbox_api
    from sandbox_crm.actionlog import record
    from sandbox_crm.host import Actor

    holder, operator = world["holder"], world["operator"]
    attempt = db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.candidate_id == holder.id))
    workspace = sandbox_api.get_workspace(attempt.workspace_id)
    record(workspace, "create", "contact", 7, "Jan Hurtowy", {"diff": {"email": [None, "jan@hurt.example"]}},
           actor=Actor(ref=owner_ref(holder), name=holder.full_name))
    sandbox_api.record_answer(attempt.workspace_id, 2, "Wartość lejka: 120 000 zł")
    record(workspace, "freeze", "workspace", workspace.id, workspace.label, actor=Actor(ref=owner_ref(operator), name=operator.full_name))
    db.session.commit()
    copy = export.collect(holder)
    (practical,) = copy.files["practical_attempts.json"]
    assert practical["task_answers"] == {2: "Wartość lejka: 120 000 zł"}
    actors = [(s["verb"]["display"]["en-US"], s["actor"]) for s in practical["actions"]]
    account = {"homePage": "urn:examportal"}
    assert ("create", {"objectType": "Agent", "name": holder.full_name, "account": account | {"name": owner_ref(holder)}}) in actors
    assert ("freeze", {"objectType": "Agent", "account": account | {"name": owner_ref(operator)}}) in actors
    assert "jan@hurt.example" in _texts(copy) and operator.full_name not in _texts(copy)
    # The whole copy is written as JSON (the answers' task numbers become keys of text).
    with zipfile.ZipFile(io.BytesIO(export.to_zip(copy))) as archive:
        written = json.loads(archive.read("practical_attempts.json"))
    assert written[0]["task_answers"] == {"2": "Wartość lejka: 120 000 zł"}
