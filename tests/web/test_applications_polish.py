"""The application pages in Polish: the candidate's list, form, identity page and "My applications"
(accepted, rejected, waiting), the staff's session page with its applications and the session form,
and the operator's console with an accommodation say nothing in English (the finder of
tests/unit/test_translations.py: catalogue strings, stored codes, English sentence words)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from examportal.applications import services
from examportal.models import Role
from tests.factories import (
    client_as,
    enrol,
    make_applicant,
    make_application,
    make_institution,
    make_published_session,
    make_session,
    make_theory_result,
    make_user,
)
from tests.unit.test_translations import _finder, finder_cache, page_texts  # noqa: F401  (a fixture)


def test_the_application_pages_in_polish_show_no_english(app, qualification, finder_cache):  # noqa: F811
    ic = make_institution("Fundacja Polska", qualifications=[qualification], city="Kraków", address="ul. Długa 1")
    staff = make_user((Role.STAFF, ic), first_name="Stefan", last_name="Kadrowy")
    operator = make_user((Role.OPERATOR, ic), first_name="Olga", last_name="Operatorska")
    session = make_published_session(ic, qualification, title="Sesja styczniowa", capacity=2, fee_pln=Decimal("450.00"),
                                      operator_id=operator.id)
    accepted, rejected, waiting, recognised = (make_applicant(first_name=name, last_name="Kandydacka")
                                               for name in ("Anna", "Beata", "Celina", "Dorota"))
    earlier = enrol(make_session(ic, qualification, title="Sesja jesienna",
                                 starts_at=datetime(2026, 10, 1, 8, tzinfo=UTC)), recognised)
    make_theory_result(earlier, qualification)
    services.accept(staff, make_application(session, accepted, extra_time_minutes=30, needs_large_font=True),
                    extra_time_minutes=30, accommodations="czcionka 16 pt")
    services.accept(staff, make_application(session, recognised, recognition_requested=True))
    services.reject(staff, make_application(session, rejected), "Brak wymaganych dokumentów.")
    services.accept(staff, make_application(session, waiting))  # full: the waiting list
    make_application(session, make_applicant(first_name="Ewa", last_name="Czekająca"), needs_reader=True,
                     recognition_requested=True, recognition_note="Sesja jesienna")
    incomplete = make_user(Role.CANDIDATE, first_name="Fryderyk", last_name="Bezdanych", birth_date=None, birth_place=None)
    fresh = make_applicant(first_name="Grażyna", last_name="Nowa")

    pages = [
        (fresh, "/applications/sessions"), (fresh, f"/applications/sessions/{session.id}"), (fresh, "/applications/mine"),
        (fresh, "/dashboard"), (fresh, "/sessions/mine"),
        (incomplete, f"/applications/sessions/{session.id}"), (incomplete, "/applications/identity"),
        (accepted, "/applications/mine"), (rejected, "/applications/mine"), (waiting, "/applications/mine"),
        (recognised, "/applications/mine"), (staff, f"/sessions/{session.id}"), (staff, f"/sessions/{session.id}/edit"),
        (operator, f"/operator/sessions/{session.id}"),
    ]
    finder = _finder(app, finder_cache)
    found = {}
    clients: dict[int, object] = {}
    for who, path in pages:
        client = clients.setdefault(who.id, client_as(app, who, lang="pl"))
        response = client.get(path)  # type: ignore[attr-defined]
        assert response.status_code == 200, (who.full_name, path, response.status_code)
        html = response.get_data(as_text=True)
        assert '<html lang="pl">' in html
        problems = sorted({f"{reason} in {text!r}" for text in page_texts(html) if (reason := finder.find(text))})
        if problems:
            found[f"{path} ({who.first_name})"] = problems
    assert not found, "English on Polish pages:\n" + "\n".join(f"{p}: {problems}" for p, problems in found.items())
