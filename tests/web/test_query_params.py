"""THE parameter walker: every query-string and form parameter a view declares (``sandbox_crm.params``)
gets hostile values — 20-digit, negative and non-ASCII numbers, words, NUL bytes, long text, repeated
keys — and nothing answers 500 or shows a stack trace; an id or number that is not one is a clear 400.

And the declaration is the only door: no module reads ``request.args`` / ``request.form`` by key
outside it (the source is scanned), so a parameter cannot be added without being walked here.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from examportal.extensions import db
from examportal.forms import parse_id as examportal_parse_id
from examportal.models import Role, TheoryAttempt
from sandbox_crm import params as p
from tests.factories import client_as, enrol, make_institution, make_session, make_user, write_theory_bank

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("examportal", "sandbox_crm", "question_bank")
PARAMS_MODULE = "sandbox_crm/params.py"

HUGE = "99999999999999999999"
# Values every declared parameter gets; an id or a number must refuse each of them with a 400.
NUMBERS = {"huge": HUGE, "negative": "-1", "superscript": "²", "arabic-indic": "١٢", "word": "abc", "zero": "0",
           "exponent": "1e3", "spaced": "7 7", "hash": "#" + HUGE, "long": "9" * 5000, "nul": "1\x00"}
# Values that are the same as an absent parameter.
EMPTY = {"empty": "", "blank": "   "}


# --------------------------------------------------------------------------- the one id parser


@pytest.mark.parametrize("raw, expected", [
    ("1", 1), ("42", 42), (" 42 ", 42), ("0000000042", 42), (str(2**31 - 1), 2**31 - 1),
    (str(2**31), None), (HUGE, None), ("00000000042", None), ("0", None), ("-1", None), ("+1", None),
    ("²", None), ("١٢", None), ("１２", None), ("1.0", None), ("1e3", None), ("", None), ("   ", None), (None, None),
])
def test_parse_id_takes_ascii_digits_within_an_integer_column(raw, expected):
    assert p.parse_id(raw) == expected


def test_examportal_uses_the_sandbox_parser_not_a_copy():
    assert examportal_parse_id is p.parse_id


def test_number_kinds(app):
    with app.test_request_context():
        assert p.PAGE.read(MultiDict({"page": HUGE}), "page") == 1
        assert p.PAGE.read(MultiDict({"page": "3"}), "page") == 3
        assert p.Number(0).read(MultiDict({"seq": "0"}), "seq") == 0
        assert p.Number(hint=True).read(MultiDict({"position": "²"}), "position") is None  # dropped, not refused
        assert p.Choice(["a", "b"], default="a").read(MultiDict({"x": "evil"}), "x") == "a"
        assert p.Text(max=3).read(MultiDict({"q": "  abcdef "}), "q") == "abc"
        assert p.Many(p.ID).read(MultiDict([("row", "1"), ("row", ""), ("row", "3")]), "row") == [1, 3]
        assert p.Indexed("map_", p.Text(max=9)).read(MultiDict({"map_2": "b", "map_0": "a"}), "mapping") == ["a", "", "b"]
        for param, values in ((p.ID, {"id": "²"}), (p.Number(required=True), {}), (p.Many(p.ID), {"id": "-1"}),
                              (p.Indexed("map_", p.Text(max=9)), {"map_²": "x"}),
                              (p.Indexed("map_", p.Text(max=9), limit=10), {"map_10": "x"})):
            with pytest.raises(BadRequest):
                param.read(MultiDict(values), "id")
        assert p.Date().read(MultiDict({"d": "2025-02-30"}), "d") is None
        assert p.invalid_params() == {"d"}


# --------------------------------------------------------------------------- nothing reads around the declarations

REQUEST_DATA = {"args", "form", "values", "files", "json", "data", "get_json"}

# Views that hand the whole form to a parser of its own (fields named after database rows, which no
# static declaration can list), each with its reason. Everything else goes through a declaration.
WHOLE_FORM_READERS = {
    ("sandbox_crm/blueprint.py", "refuse_nul_bytes"): "looks for NUL bytes in every value",
    ("examportal/committee/views.py", "save_scores"): "one verdict per criterion (c-<id>-met...), parse_verdicts",
    ("examportal/committee/views.py", "record_results"): "one verdict per criterion (r-<id>-met...), parse_verdicts",
    ("examportal/theory/views.py", "question"): "the answer fields of the item's type, read_page_answer",
    ("examportal/theory/views.py", "autosave"): "the answer fields of the item's type, read_page_answer",
    ("examportal/appeals/views.py", "propose"): "the chosen remedy's own fields, remedies.detail_from_form",
    ("examportal/portal.py", "dispatch_request"): "rewinds every uploaded file before a request runs again",
    ("sandbox_crm/forms/common.py", "wrap_formdata"): "gives the form's file fields the uploads, its text fields the text",
}


def request_data_reads(source: str) -> list[tuple[str, int, str]]:
    """(enclosing function, line, code) of every use of ``request.args`` & co. in a module's source."""
    tree = ast.parse(source)
    request_names = {"request"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            request_names |= {alias.asname or alias.name for alias in node.names if alias.name == "request"}
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name if function == "<module>" else f"{function}.{node.name}"
        if isinstance(node, ast.Attribute) and node.attr in REQUEST_DATA:
            target = node.value
            if (isinstance(target, ast.Name) and target.id in request_names) or \
                    (isinstance(target, ast.Attribute) and target.attr == "request"):
                found.append((function.split(".")[0], node.lineno, ast.unparse(node)))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_the_scanner_finds_reads_however_they_are_written():
    source = '''
import flask
from flask import request as rq
def view():
    a = rq.args.get("x")
    b = flask.request.form["y"]
    def inner():
        return "z" in rq.values
    return rq.get_json()
'''
    assert [(f, code) for f, _line, code in request_data_reads(source)] == [
        ("view", "rq.args"), ("view", "flask.request.form"), ("view", "rq.values"), ("view", "rq.get_json")]


def _all_reads() -> dict[tuple[str, str], list[str]]:
    reads: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for function, line, code in request_data_reads(path.read_text(encoding="utf-8")):
                reads.setdefault((relative, function), []).append(f"{relative}:{line} {code}")
    return reads


def test_no_view_reads_request_parameters_outside_a_declaration():
    reads = _all_reads()
    undeclared = [where for (module, function), lines in reads.items()
                  if module != PARAMS_MODULE and (module, function) not in WHOLE_FORM_READERS for where in lines]
    assert not undeclared, ("read request parameters through @params/@form_params (sandbox_crm/params.py), "
                            f"not by hand: {undeclared}")
    stale = [key for key in WHOLE_FORM_READERS if key not in reads]
    assert not stale, f"these no longer read the whole form: drop them from WHOLE_FORM_READERS: {stale}"


def test_templates_only_echo_the_query_string():
    """A template may rebuild a link from the whole query string, never read a parameter itself."""
    pattern = re.compile(r"request\.(args|form|values)\b(?!\.to_dict\(\))")
    offenders = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "templates").rglob("*.html"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if pattern.search(line)]
    assert not offenders, f"pass the parsed value from the view instead: {offenders}"


# --------------------------------------------------------------------------- the walk

ANON, STAFF, CANDIDATE, OWNER = "anonymous", "staff", "candidate", "sandbox owner"
# Who walks each declaring route (the longest matching prefix of the endpoint wins).
WALKER = {"auth.": ANON, "main.": ANON, "mail.": ANON, "verify.": ANON, "audit.": STAFF, "sessions.": STAFF,
          "certification.": STAFF, "theory.": CANDIDATE, "theory.item_statistics": STAFF, "sandbox.": OWNER,
          "applications.": OWNER, "complaints.": STAFF, "appeals.": STAFF,
          "renewals.": STAFF, "reports.zrk": STAFF}  # a candidate not in the middle of a test (which locks every other page)
# Routes that change what the others walk (a deleted task is gone): walked last.
LAST = ("sandbox.task_complete", "sandbox.task_delete")


def walker_of(endpoint: str) -> str | None:
    matches = [prefix for prefix in WALKER if endpoint.startswith(prefix)]
    return WALKER[max(matches, key=len)] if matches else None


def declaring_rules(app) -> list:
    rules = [rule for rule in app.url_map.iter_rules() if p.declared_params(app.view_functions[rule.endpoint])]
    return sorted(rules, key=lambda rule: (rule.endpoint in LAST, rule.endpoint))


def test_every_declaring_route_has_a_walker_and_no_name_clash(app):
    rules = declaring_rules(app)
    assert len({rule.endpoint for rule in rules}) >= 40  # the walk found the declarations
    for rule in rules:
        assert walker_of(rule.endpoint), f"{rule.endpoint}: say in WALKER who may open it"
        for declaration in p.declared_params(app.view_functions[rule.endpoint]):
            clash = set(declaration.params) & set(rule.arguments)
            assert not clash, f"{rule.endpoint}: parameter named like a URL part: {clash}"


@dataclass
class World:
    clients: dict
    url_values: dict
    baseline: dict


def _sandbox_objects(owner) -> dict:
    """A practice workspace with one object of every kind the declaring routes open."""
    from examportal.practical.services import owner_ref
    from sandbox_crm.api import create_workspace
    from sandbox_crm.models import Company, ImportSource, OfferTemplate, Pipeline, Task
    from sandbox_crm.models.sales import Opportunity
    from sandbox_crm.services import customers, offers, segments

    seed = {
        "companies": [{"key": "hotel", "name": "Hotel Pod Wawelem sp. z o.o."}],
        "contacts": [{"key": "anna", "company": "hotel", "first_name": "Anna", "last_name": "Nowak"}],
        "products": [{"key": "book", "name": "Podręcznik", "sku": "BK-1", "kind": "product", "unit": "szt.",
                      "unit_price": "19.99", "vat_rate": "5"}],
        "offer_templates": [{"name": "Standard"}],
        "pipelines": [{"name": "Hotels B2B", "stages": [{"name": "Lead", "probability": 10},
                                                        {"name": "Offer", "probability": 50}]}],
        "opportunities": [{"key": "o1", "name": "Coffee for Wawel", "company": "hotel", "stage": "Offer",
                           "value": 48000}],
        "tasks": [{"title": "Prepare demo", "opportunity": "o1", "due_in_days": 3}],
        "leads_pasted": ["Ewa Lis, Gamma S.A."],
    }
    workspace = create_workspace("Ćwiczenia", owner_ref(owner), seed=seed)

    def first(model):
        return db.session.scalar(select(model).where(model.workspace_id == workspace.id).order_by(model.id))

    company = first(Company)
    customers.add_tag(workspace, company, "Kluczowy")
    segment = segments.create_segment(workspace, name="Hotele", rules={"tags": ["Kluczowy"]})
    offer = offers.create_offer(workspace, {"title": "Oferta", "company_id": company.id,
                                            "template_id": first(OfferTemplate).id, "issue_date": "2025-03-01"})
    db.session.commit()
    return {"ws_id": workspace.id, "company_id": company.id, "offer_id": offer.id, "template_id": first(OfferTemplate).id,
            "opportunity_id": first(Opportunity).id, "task_id": first(Task).id, "segment_id": segment.id,
            "source_id": first(ImportSource).id, "pipeline_id": first(Pipeline).id}


@pytest.fixture
def world(app, qualification, tmp_path) -> World:
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    # Thousands of requests from one client: rate limits would answer 429 before the parameters are read.
    app.config.update(LOGIN_RATE_LIMIT="100000 per minute", LOGIN_ADDRESS_RATE_LIMIT="100000 per minute",
                      VERIFY_RATE_LIMIT="100000 per minute")
    ic = make_institution("Fundacja P", qualifications=[qualification])
    operator, staff = make_user((Role.OPERATOR, ic)), make_user((Role.STAFF, ic))
    candidate, owner = make_user(Role.CANDIDATE), make_user(Role.CANDIDATE)
    session = make_session(ic, qualification, operator_id=operator.id)
    enrolment = enrol(session, candidate)
    # The candidate's test runs (the operator opens the console and unlocks it; the candidate starts).
    console = client_as(app, operator)
    assert console.get(f"/operator/sessions/{session.id}").status_code == 200
    assert console.post(f"/operator/sessions/{session.id}/actions",
                        data={"target": "0", "kind": "unlock", "minutes": "", "reason": "Start"}).status_code == 302
    candidate_client = client_as(app, candidate)
    assert candidate_client.post(f"/theory/enrolments/{enrolment.id}/start").status_code == 200
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))
    with app.test_request_context():
        objects = _sandbox_objects(owner)
    url_values = objects | {"attempt_id": attempt.id, "position": 1, "session_id": session.id,
                            "enrolment_id": enrolment.id, "code": "en"}
    clients = {ANON: client_as(app), STAFF: client_as(app, staff), CANDIDATE: candidate_client,
               OWNER: client_as(app, owner)}
    # Valid values of the other parameters, so that each hostile value meets the view itself.
    baseline = {"theory.autosave": {"position": "1", "seq": "1000"}}
    return World(clients=clients, url_values=url_values, baseline=baseline)


def _expected_refusal(app, param: p.Param, key: str, values: MultiDict) -> str | None:
    """The message of the 400 the parameter's own parser gives for ``values`` (None: it takes them)."""
    with app.test_request_context(), force_locale("en"):  # the walkers' clients read English
        try:
            param.read(values, key)
        except BadRequest as refusal:
            return str(refusal.description)
        return None


def _send(client, method: str, path: str, source: str, pairs: list[tuple[str, str]], baseline: dict):
    hostile = MultiDict(pairs)
    if source == "args":
        query, form = hostile, MultiDict(baseline)
    else:
        query, form = MultiDict(), MultiDict([(k, v) for k, v in baseline.items() if k not in hostile] + pairs)
    if method == "GET":
        return client.get(path, query_string=query)
    return client.post(path, query_string=query, data=form)


def _check(response, where: str, refusal: str | None) -> None:
    text = response.get_data().decode("utf-8", "replace")  # a PDF export is bytes
    assert response.status_code != 500, f"{where}: 500"
    assert "Traceback" not in text and 'File "' not in text, f"{where}: a stack trace"
    if refusal is not None:
        assert response.status_code == 400, f"{where}: {response.status_code}, expected a 400 ({refusal})"
        shown = (response.get_json(silent=True) or {}).get("error") if response.is_json else text
        assert refusal.split("%(")[0][:30] in (shown or "").replace("&#39;", "'").replace("&quot;", '"'), \
            f"{where}: the 400 does not say {refusal!r}"


# What a parameter that does not refuse bad values (text, a choice, a page, a filter form's field) gets.
LENIENT = ("huge", "negative", "superscript", "hash", "long", "nul")


def _cases(param: p.Param, key: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(label, request pairs) of the hostile requests for one request key of a parameter."""
    values = NUMBERS if param.refuses else {label: NUMBERS[label] for label in LENIENT}
    cases = [(label, [(key, value)]) for label, value in (values | EMPTY).items()]
    cases += [("repeated good-bad", [(key, "1"), (key, HUGE)]), ("repeated bad-good", [(key, "²"), (key, "1")])]
    if isinstance(param, p.Indexed):  # the family's numbers themselves
        cases += [(f"key {suffix!r}", [(param.prefix + suffix, "")]) for suffix in ("²", HUGE, "-1", "", "x")]
    return cases


def test_walk_every_declared_parameter_with_hostile_values(app, world):
    walked = refused = 0
    for rule in declaring_rules(app):
        endpoint = rule.endpoint
        missing = [argument for argument in rule.arguments if argument not in world.url_values]
        assert not missing, f"{endpoint}: no value for URL parameter(s) {missing}: add them to the world"
        path = rule.build({argument: world.url_values[argument] for argument in rule.arguments})[1]
        client = world.clients[walker_of(endpoint)]
        methods = sorted((set(rule.methods) & {"GET", "POST"}), reverse=True)  # GET first
        baseline = world.baseline.get(endpoint, {})
        # The walker reaches the view (not a login page, a refusal or a missing object).
        if "GET" in methods:
            control = client.get(path)
            assert control.status_code not in (401, 403, 404, 500), f"{endpoint}: GET {path} gave {control.status_code}"
            assert "/auth/" not in control.headers.get("Location", ""), f"{endpoint}: the walker is not let in"
        for declaration in p.declared_params(app.view_functions[endpoint]):
            method_list = methods if declaration.source == "args" else ["POST"]
            for name, param in declaration.params.items():
                for key in param.names(param.key or name):
                    for label, pairs in _cases(param, key):
                        refusal = _expected_refusal(app, param, key, MultiDict(pairs))
                        if any("\x00" in value for value in param.raw_values(MultiDict(pairs), key)):
                            refusal = "The form contained an invisible control character (NUL)"
                        for method in method_list:
                            response = _send(client, method, path, declaration.source, pairs, baseline)
                            _check(response, f"{method} {path} ({endpoint}) {declaration.source} {key}={label}", refusal)
                            walked += 1
                            refused += refusal is not None
    assert walked > 2000 and refused > 500, (walked, refused)


def test_a_huge_id_in_the_sandboxs_links_is_a_clear_400_not_an_overflow(app, world):
    """The reported cases: ?company_id=, ?company=, ?tag= with 20 digits, and /opportunities/new?company_id=²."""
    client, ws = world.clients[OWNER], world.url_values["ws_id"]
    for path in (f"/sandbox/w/{ws}/contacts/new?company_id={HUGE}", f"/sandbox/w/{ws}/contacts?company={HUGE}",
                 f"/sandbox/w/{ws}/companies?tag={HUGE}", f"/sandbox/w/{ws}/opportunities/new?company_id=²",
                 f"/sandbox/w/{ws}/offers/new?company_id=²", f"/sandbox/w/{ws}/tasks/new?company_id={HUGE}",
                 f"/sandbox/w/{ws}/tasks/?opportunity={HUGE}", f"/sandbox/w/{ws}/board?pipeline=١٢"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "This link or form is damaged" in response.get_data(as_text=True), path


def test_the_theory_parameters_refuse_what_is_not_a_number(app, world):
    candidate, attempt = world.clients[CANDIDATE], world.url_values["attempt_id"]
    answer = f"/theory/attempts/{attempt}/answer"
    for data in ({"position": "²", "seq": "5"}, {"position": "1", "seq": HUGE}, {"position": "1"}):
        response = candidate.post(answer, data=data, headers={"Accept": "application/json"})
        assert response.status_code == 400 and response.get_json()["error"] == "The answer is incomplete. Reload the page."
    response = candidate.post(f"/theory/attempts/{attempt}/q/1", data={"go": "²"})
    assert response.status_code == 400
    staff = world.clients[STAFF]
    for value in ("²", HUGE, "abc"):
        response = staff.get(f"/theory/statistics?session={value}")
        assert response.status_code == 400 and "Choose a session from the list." in response.get_data(as_text=True)
