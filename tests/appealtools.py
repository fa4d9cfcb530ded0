"""Helpers for the appeal tests: a certifying institution with a validating one, a session whose
committee, operator, trainer and certification decider also hold the appeals-panel role (so that
only their part in the decision keeps them off a panel), three impartial panel members, a candidate
with a negative validation decision; files to upload; and the appeal's way through the procedure."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timedelta

from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from examportal.appeals import deciding, services
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealFile,
    AppealPanelMember,
    AppealStatus,
    AppealSubject,
    OutboxMail,
    Role,
    StoredFile,
    User,
    ValidationDecision,
    WorkReview,
    WorkReviewStatus,
    utcnow,
)
from examportal.uploads import read_upload
from tests.certtools import validation_decision
from tests.factories import add_member, enrol, make_institution, make_session, make_user, record_training

PDF = b"%PDF-1.4\n% uzasadnienie odwolania\n%%EOF\n"


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG of ``width`` × ``height`` pixels."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels (an image bomb: a few bytes that
    would decode to gigabytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def appeal_world(qualification, letter: str = "O") -> dict:
    """The institutions, people, session and a negative validation decision (sent today)."""
    ic = make_institution(f"Fundacja Odwołań {letter}", qualifications=[qualification], short_name=f"FO{letter}",
                          city="Kraków", address="ul. Długa 1")
    child = make_institution(f"Ośrodek Odwołań {letter}", parent=ic, short_name=f"OO{letter}")
    appeals = (Role.APPEALS, ic)
    people = {
        "staff": make_user((Role.STAFF, ic), first_name="Stefan", last_name="Kancelaryjny", locale="en"),
        "child_staff": make_user((Role.STAFF, child), first_name="Celina", last_name="Oddziałowa", locale="en"),
        "chair": make_user((Role.ASSESSOR, ic), appeals, first_name="Czesław", last_name="Przewodniczący"),
        "member": make_user((Role.ASSESSOR, ic), appeals, first_name="Maria", last_name="Członkini"),
        "operator": make_user((Role.OPERATOR, child), appeals, first_name="Olga", last_name="Operatorka"),
        "trainer": make_user((Role.ASSESSOR, ic), appeals, first_name="Tadeusz", last_name="Trener"),
        "decider": make_user((Role.STAFF, ic), appeals, first_name="Dorota", last_name="Decydująca"),
        "panel1": make_user(appeals, first_name="Paweł", last_name="Panelowy", locale="en"),
        "panel2": make_user(appeals, first_name="Patrycja", last_name="Panelowa", locale="pl"),
        "panel3": make_user(appeals, first_name="Piotr", last_name="Trzeci", locale="en"),
        "candidate": make_user(Role.CANDIDATE, first_name="Anna", last_name="Odwołująca", locale="en",
                               email=f"anna.{letter.lower()}@odwolania.example"),
        "other": make_user(Role.CANDIDATE, first_name="Olaf", last_name="Obcy", locale="en"),
    }
    session = make_session(child, qualification, title=f"SESJA-ODWOŁAŃ-{letter}", operator_id=people["operator"].id)
    add_member(session, people["chair"], declared=True).is_chair = True
    add_member(session, people["member"], declared=True)
    enrolment = enrol(session, people["candidate"])
    record_training(people["trainer"], people["candidate"], ic)
    decision = validation_decision(enrolment, positive=False, decided_by=people["chair"])
    decision.notified_at = decision.decided_at
    db.session.commit()
    return {**people, "ic": ic, "child": child, "session": session, "enrolment": enrolment, "decision": decision,
            "qualification": qualification}


def sent_days_ago(decision: ValidationDecision, days: int) -> None:
    """Say the decision was sent ``days`` Warsaw days ago (at noon)."""
    from examportal.appeals import rules

    day = rules.today() - timedelta(days=days)
    decision.notified_at = datetime.combine(day, datetime.min.time().replace(hour=12), rules.WARSAW)
    db.session.commit()


def validation(world: dict) -> services.Decision:
    decision = services.load(AppealSubject.VALIDATION, world["decision"].id)
    assert decision is not None
    return decision


def file_appeal(world: dict, grounds: str = "Komisja nie uwzględniła mojej pracy w zadaniu 2.4.", uploads=()) -> Appeal:
    """The candidate's appeal against the negative validation decision, through the service."""
    return services.file_appeal(world["candidate"], validation(world), grounds, list(uploads))


def pdf_upload(name: str = "skan.pdf"):
    return read_upload(name, PDF)


def ready_for_review(world: dict, appeal: Appeal, members=("panel1", "panel2"), declare: bool = True) -> Appeal:
    """Acknowledged, a panel appointed (the first member its chair), every member declared, review started."""
    staff = world["staff"]
    services.acknowledge(staff, appeal)
    for n, key in enumerate(members):
        services.appoint(staff, appeal, world[key], is_chair=(n == 0))
    services.start_review(staff, appeal)
    if declare:
        for key in members:
            services.declare(seat(appeal, world[key]), "Oświadczam, że jestem bezstronny.")
    return appeal


def seat(appeal: Appeal, user: User) -> AppealPanelMember:
    db.session.expire_all()
    member = services.panel_member(db.session.get(Appeal, appeal.id), user)
    assert member is not None
    return member


def decide(world: dict, appeal: Appeal, upheld: bool = False, members=("panel1", "panel2"), remedy=None,
           justification: str = "Panel zbadał sprawę i stwierdza, że decyzja była prawidłowa.") -> Appeal:
    """Every member approves one proposal (the first member proposes)."""
    first = seat(appeal, world[members[0]])
    deciding.propose(first, db.session.get(Appeal, appeal.id), upheld, remedy, None, justification)
    for key in members[1:]:
        deciding.vote(seat(appeal, world[key]), db.session.get(Appeal, appeal.id), True, None)
    db.session.expire_all()
    return db.session.get(Appeal, appeal.id)


def counts() -> tuple[int, int, int]:
    """(appeals, stored files, attachments) in the database."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Appeal.id))) or 0, db.session.scalar(select(func.count(StoredFile.id))) or 0,
            db.session.scalar(select(func.count(AppealFile.id))) or 0)


def mails_to(user: User) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def body(response) -> str:
    return response.get_data(as_text=True)


def refusal_of(action) -> str:
    """The message of the AppealError ``action()`` raises (in English)."""
    with force_locale("en"):
        try:
            action()
        except services.AppealError as error:
            db.session.rollback()
            return str(error)
    raise AssertionError("no refusal")


def walker_objects(w: dict) -> dict:
    """For the authorization walker: an appeal of the world's candidate (against the conduct of their
    theory test, straight in the database) with a file and a declared panel member, and a granted
    request to see their work."""
    from examportal.uploads import store

    candidate, attempt = w["candidate"], w["attempt"]
    panel = make_user((Role.APPEALS, w["ic"]), first_name="Panel", last_name=f"{w['ic'].short_name}-Członek")
    now = utcnow()
    appeal = Appeal(institution_id=w["ic"].id, appellant_id=candidate.id, subject=AppealSubject.THEORY,
                    subject_id=attempt.id, enrolment_id=w["enrolment"].id, grounds="Awaria komputera w trakcie testu.",
                    sent_on=now.date(), window_ends_on=now.date() + timedelta(days=14), filed_at=now,
                    status=AppealStatus.ACKNOWLEDGED, decide_by=now.date() + timedelta(days=30))
    db.session.add(appeal)
    db.session.flush()
    stored = store(read_upload("dowod.pdf", PDF), candidate)
    appeal.files.append(AppealFile(file=stored))
    member = AppealPanelMember(appeal_id=appeal.id, member_id=panel.id, is_chair=True, appointed_at=now,
                               appointed_by_id=w["staff"].id, declared_at=now, declaration="Oświadczam.")
    db.session.add(member)
    review = WorkReview(enrolment_id=w["enrolment"].id, candidate_id=candidate.id, requested_at=now, sent_on=now.date(),
                        status=WorkReviewStatus.GRANTED, decided_by_id=w["staff"].id, decided_at=now,
                        open_until=now + timedelta(days=3))
    db.session.add(review)
    db.session.commit()
    return {"appeal": appeal, "appeal_file": appeal.files[0], "panel_member": member, "work_review": review,
            "appeals_member": panel}


def multipart(fields: dict[str, str], files, name: str = "files") -> tuple[bytes, str]:
    """A multipart body built here (the test client spools a large one to a file it never closes):
    ``fields`` as text parts, ``files`` (file name, content) under ``name``."""
    boundary = "----examportal-appeal-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    for filename, content in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_files(client, url: str, files, **fields: str):
    body_bytes, content_type = multipart(fields, files)
    return client.post(url, data=body_bytes, content_type=content_type)
