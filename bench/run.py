"""Benchmarks for examportal: load (real HTTP server + client), PDF rendering, sandbox scale, a
session's certificate batch.

Each suite prints ratios against a baseline measured in the same run. See bench/README.md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A keep-alive HTTP client with a cookie jar (enough for a session cookie)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, payload

    def login(self, email: str, password: str) -> None:
        status, page = self.request("GET", "/auth/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(rb'name="csrf-token" content="([^"]+)"', page)
        status, _ = self.request("POST", "/auth/login", {"email": email, "password": password,
                                                         "csrf_token": token.group(1).decode()})
        if status != 302:
            raise RuntimeError(f"login failed for {email}: {status}")
        # Staff sign in with a second factor: the demo accounts' key is published for development.
        status, page = self.request("GET", "/auth/two-factor")
        if status == 200:
            import pyotp

            from examportal.demo import DEMO_TOTP_SECRET

            token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
                re.search(rb'name="csrf-token" content="([^"]+)"', page)
            status, _ = self.request("POST", "/auth/two-factor", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now(),
                                                                  "csrf_token": token.group(1).decode()})
            if status != 302:
                raise RuntimeError(f"second factor refused for {email}: {status}")


def measure(port: int, path: str, requests: int, concurrency: int, login: tuple[str, str] | None = None) -> dict:
    """Send ``requests`` GETs to ``path`` from ``concurrency`` keep-alive clients."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = max(1, requests // concurrency)

    # One sign-in shared by every client (a TOTP code is accepted once per time step).
    cookies: dict[str, str] = {}
    if login:
        first = Client(port)
        first.login(*login)
        cookies = dict(first.cookies)

    def worker():
        nonlocal errors
        client = Client(port)
        client.cookies.update(cookies)
        for _ in range(per_client):
            start = time.perf_counter()
            status, _ = client.request("GET", path)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors += status != 200

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    wall = time.perf_counter() - start
    latencies.sort()
    return {"path": path, "requests": len(latencies), "errors": errors, "throughput": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))]}


def prepared_environment(tmp: Path) -> dict:
    """A migrated database with the demo data, and the settings to serve it: the suites that build
    the app in this process pass ``in_process(env)`` so it opens what the demo sealed (the second
    factors' secrets, under CREDENTIAL_KEY)."""
    env = dict(os.environ, FLASK_APP="examportal", EXAMPORTAL_CONFIG="development",
               DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}"),
               SECRET_KEY="bench-" + "x" * 40, LOGIN_RATE_LIMIT="100000 per minute",
               CREDENTIAL_KEY="bench-credential-" + "y" * 32, AUDIT_KEY="bench-audit-" + "z" * 32)
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run([str(VENV_BIN / "flask"), *command], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def in_process(env: dict, **overrides: object) -> dict:
    """The configuration overrides for an app built in this process on ``env``'s database."""
    return {"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "CREDENTIAL_KEY": env["CREDENTIAL_KEY"],
            "AUDIT_KEY": env["AUDIT_KEY"], **overrides}


def suite_load(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = prepared_environment(Path(tmp))
        port = free_port()
        server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "examportal:create_app()"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    if Client(port).request("GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            staff = ("staff.vcc@demo.examportal.pl", "demo-haslo-2026")
            baseline = measure(port, "/healthz", args.requests, args.concurrency)
            rows = [measure(port, path, args.requests, args.concurrency, login) for path, login in (
                ("/", None), ("/qualifications/13881", None), ("/auth/login", None),
                ("/sessions/", staff), ("/audit/", staff),
            )]
        finally:
            server.terminate()
            server.wait(timeout=10)
    for row in rows:
        row["throughput_ratio"] = row["throughput"] / baseline["throughput"]
        row["p50_ratio"] = row["p50_ms"] / baseline["p50_ms"]
    return {"baseline": baseline, "pages": rows}


def suite_pdf(args) -> dict:
    from weasyprint import HTML

    os.environ.setdefault("EXAMPORTAL_CONFIG", "test")
    with tempfile.TemporaryDirectory() as tmp:
        env = prepared_environment(Path(tmp))
        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        from examportal import create_app
        from examportal.committee import services
        from examportal.extensions import db
        from examportal.models import Enrolment, ValidationDecision, utcnow

        app = create_app(in_process(env))
        with app.app_context(), app.test_request_context():
            enrolment = db.session.query(Enrolment).first()
            decision = ValidationDecision(enrolment_id=enrolment.id, positive=False, decided_by_id=enrolment.candidate_id,
                                          decided_at=utcnow(), justification="Benchmark (2.4.f).")
            summary = services.summary(enrolment)

            def timed(func, repeat):
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    func()
                    times.append(time.perf_counter() - start)
                return statistics.median(times)

            baseline = timed(lambda: HTML(string="<html><body><p>Zażółć gęślą jaźń</p></body></html>").write_pdf(), args.pdf_repeat)
            first = timed(lambda: services.protocol_pdf(enrolment, decision, summary), 1)  # the qualification's table laid out too
            protocol = timed(lambda: services.protocol_pdf(enrolment, decision, summary), args.pdf_repeat)
    return {"baseline_s": baseline, "protocol_s": protocol, "protocol_ratio": protocol / baseline,
            "first_protocol_s": first, "first_protocol_ratio": first / baseline}


def _populate(workspace, companies: int, contacts: int, opportunities: int) -> None:
    """Bulk rows into a workspace (bench set-up only; the timed part goes through the pages)."""
    import random
    from decimal import Decimal

    from sqlalchemy import insert, select

    import sandbox_crm
    from sandbox_crm.models.customers import Company, Contact
    from sandbox_crm.models.sales import Opportunity, Pipeline, PipelineStage

    db = sandbox_crm.session()
    rng = random.Random(7)
    industries = ["produkcja", "handel", "usługi", "IT", "logistyka", "budownictwo"]
    regions = ["małopolskie", "mazowieckie", "śląskie", "pomorskie", "wielkopolskie"]
    db.execute(insert(Company), [{"workspace_id": workspace.id, "name": f"Firma {i} sp. z o.o.",
                                  "industry": rng.choice(industries), "region": rng.choice(regions),
                                  "city": "Kraków", "potential_value": Decimal(rng.randrange(1000, 500000))}
                                 for i in range(companies)])
    company_ids = db.scalars(select(Company.id).where(Company.workspace_id == workspace.id)).all()
    db.execute(insert(Contact), [{"workspace_id": workspace.id, "first_name": f"Imię{i}", "last_name": f"Nazwisko{i}",
                                  "company_id": rng.choice(company_ids), "email": f"osoba{i}@example.pl"}
                                 for i in range(contacts)])
    pipeline = db.scalar(select(Pipeline).where(Pipeline.workspace_id == workspace.id))
    stage_ids = db.scalars(select(PipelineStage.id).where(PipelineStage.pipeline_id == pipeline.id)).all()
    for start in range(0, opportunities, 10000):
        db.execute(insert(Opportunity), [{"workspace_id": workspace.id, "name": f"Szansa {i}",
                                          "company_id": rng.choice(company_ids), "pipeline_id": pipeline.id,
                                          "stage_id": rng.choice(stage_ids), "value": Decimal(rng.randrange(500, 200000))}
                                         for i in range(start, min(start + 10000, opportunities))])
    db.commit()


def suite_sandbox(args) -> dict:
    """Pages of a workspace with 50,000 opportunities and 20,000 contacts vs. an empty workspace's dashboard."""

    with tempfile.TemporaryDirectory() as tmp:
        env = prepared_environment(Path(tmp))
        from examportal import create_app
        from examportal.extensions import db
        from examportal.models import Qualification, User
        from examportal.practical.services import scenario_catalogue
        from sandbox_crm.api import create_workspace

        app = create_app(in_process(env, WTF_CSRF_ENABLED=False))
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.email == "kandydat@demo.examportal.pl"))
            user_id = user.id
            owner = f"user:{user_id}"
            qualification = db.session.scalar(db.select(Qualification).where(Qualification.code == "13881"))
            scenario = next(iter(scenario_catalogue(qualification).values()))

            def timed_creation(seed):
                start = time.perf_counter()
                create_workspace("bench", owner, seed=seed, purpose="practice")
                db.session.commit()
                return time.perf_counter() - start

            empty_creation = statistics.median(timed_creation({}) for _ in range(5))
            scenario_creation = statistics.median(timed_creation(scenario.seed) for _ in range(5))
            empty = create_workspace("empty", owner, purpose="practice")
            big = create_workspace("big", owner, seed=scenario.seed, purpose="practice")
            db.session.commit()
            _populate(big, args.companies, args.contacts, args.opportunities)
            empty_id, big_id = empty.id, big.id

        client = app.test_client()
        login = client.post("/auth/login", data={"email": "kandydat@demo.examportal.pl", "password": "demo-haslo-2026"})
        if login.status_code != 302:
            raise RuntimeError(f"bench login failed: {login.status_code}")

        def page_time(url, repeat=args.page_repeat):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code}")
            return statistics.median(times)

        baseline = page_time(f"/sandbox/w/{empty_id}/")
        pages = {
            "dashboard": f"/sandbox/w/{big_id}/",
            "companies": f"/sandbox/w/{big_id}/companies",
            "contacts": f"/sandbox/w/{big_id}/contacts",
            "contacts filtered": f"/sandbox/w/{big_id}/contacts?q=Nazwisko1999",
            "opportunities": f"/sandbox/w/{big_id}/opportunities/",
            "opportunities page 200": f"/sandbox/w/{big_id}/opportunities/?page=200",
            "board": f"/sandbox/w/{big_id}/board",
            "tasks": f"/sandbox/w/{big_id}/tasks/",
            "report by stage": f"/sandbox/w/{big_id}/reports?source=opportunities&group_by=stage&measure=sum_value&chart=bar",
            "action log": f"/sandbox/w/{big_id}/log",
        }
        rows = {name: {"seconds": t, "ratio": t / baseline} for name, t in ((n, page_time(u)) for n, u in pages.items())}
    return {"baseline_empty_dashboard_s": baseline, "pages": rows,
            "workspace_creation": {"empty_s": empty_creation, "scenario_s": scenario_creation,
                                   "ratio": scenario_creation / empty_creation},
            "rows": {"companies": args.companies, "contacts": args.contacts, "opportunities": args.opportunities}}


def _rss_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm), in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _batch_world(count: int, first_index: int = 0):
    """A closed session at the demo's validating institution with ``count`` candidates, each with the
    committee's positive decision and a positive certification decision by the demo's VCC staff member
    (bench set-up only, written directly as tests/certtools.py does; the timed part is the job)."""
    import hashlib
    from datetime import timedelta

    from sqlalchemy import select

    from examportal.extensions import db
    from examportal.models import (
        CertificationDecision,
        Enrolment,
        Institution,
        Qualification,
        SessionMode,
        SessionStatus,
        User,
        ValidationDecision,
        ValidationSession,
        utcnow,
    )
    from examportal.validators import pesel_with_checksum

    staff = db.session.scalar(select(User).where(User.email == "staff.vcc@demo.examportal.pl"))
    chair = db.session.scalar(select(User).where(User.email == "asesor1@demo.examportal.pl"))
    now = utcnow()
    session = ValidationSession(
        institution_id=db.session.scalar(select(Institution.id).where(Institution.short_name == "VCC Kraków")),
        qualification_id=db.session.scalar(select(Qualification.id).where(Qualification.code == "13881")),
        title=f"Bench: {count} certificates from #{first_index}", starts_at=now - timedelta(days=7), place="Kraków", mode=SessionMode.ONSITE,
        status=SessionStatus.CLOSED, capacity=count, created_by_id=staff.id)
    db.session.add(session)
    first = ["Łucja", "Żaneta", "Bożena", "Zdzisław", "Ścibor", "Jadwiga", "Grzegorz", "Małgorzata"]
    last = ["Żółkiewska", "Świątek", "Gęślak", "Nowak", "Wiśniewski", "Dąbrowska", "Kołłątaj", "Źrebięcka"]
    people = [User(email=f"bench{i}@example.pl", password_hash=staff.password_hash, first_name=first[i % len(first)],
                   last_name=last[i // len(first) % len(last)], pesel=pesel_with_checksum(f"850101{i:04d}"),
                   birth_date=staff.birth_date, email_confirmed_at=now) for i in range(first_index, first_index + count)]
    db.session.add_all(people)
    db.session.flush()
    enrolments = [Enrolment(session_id=session.id, candidate_id=person.id) for person in people]
    db.session.add_all(enrolments)
    db.session.flush()
    protocol = b"%PDF-1.4 bench protocol"
    validations = [ValidationDecision(enrolment_id=e.id, positive=True, decided_by_id=chair.id, decided_at=now,
                                      protocol_pdf=protocol, protocol_sha256=hashlib.sha256(protocol).hexdigest())
                   for e in enrolments]
    db.session.add_all(validations)
    db.session.flush()
    decisions = [CertificationDecision(enrolment_id=v.enrolment_id, validation_decision_id=v.id, positive=True,
                                       decided_by_id=staff.id, decided_at=now) for v in validations]
    db.session.add_all(decisions)
    db.session.commit()
    return staff, session, decisions


def _session_pdf_bytes(session_id: int) -> int:
    from sqlalchemy import func, select

    from examportal.extensions import db
    from examportal.models import Certificate, Enrolment

    return int(db.session.scalar(select(func.coalesce(func.sum(func.length(Certificate.pdf)), 0))
                                 .join(Enrolment, Certificate.enrolment_id == Enrolment.id)
                                 .where(Enrolment.session_id == session_id, Certificate.pdf_sha256.is_not(None))))


def _issued(session_id: int) -> int:
    from sqlalchemy import func, select

    from examportal.extensions import db
    from examportal.models import Certificate, Enrolment

    return int(db.session.scalar(select(func.count()).select_from(Certificate)
                                 .join(Enrolment, Certificate.enrolment_id == Enrolment.id)
                                 .where(Enrolment.session_id == session_id, Certificate.pdf_sha256.is_not(None))))


def _run_batch(staff, session, decisions, sample) -> tuple[float, object]:
    """Start the session's batch (it runs inline) with ``sample`` called after each certificate; (seconds, job)."""
    from examportal.certification import batch, hooks
    from examportal.extensions import db
    from examportal.models import BackgroundJob

    hooks.issued.connect(sample, weak=False)
    try:
        start = time.perf_counter()
        job = batch.start(staff, session, decisions)
        wall = time.perf_counter() - start
    finally:
        hooks.issued.disconnect(sample)
    job = db.session.get(BackgroundJob, job.id)
    if job.status.value != "finished" or job.problems:
        raise RuntimeError(f"the batch did not finish cleanly: {job.status.value} {job.last_error} {job.problems}")
    return wall, job


def suite_certificates(args) -> dict:
    """One certificate_batch job issuing N certificates (number, PDF, every registered artifact, mail,
    ZIP) vs. a minimal one-page WeasyPrint document. Memory: resident memory after each certificate
    of that batch, then the Python heap (tracemalloc, which slows the work: a smaller batch of its own)."""
    import resource
    import tracemalloc

    from weasyprint import HTML

    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        env = prepared_environment(Path(tmp))
        from sqlalchemy import select

        from examportal import create_app
        from examportal.certification import hooks, pdf
        from examportal.extensions import db
        from examportal.models import Certificate

        # No REDIS_URL: the job runs in this process, inline, as on a newcomer's machine.
        app = create_app(in_process(env, REDIS_URL=None))
        with app.app_context():
            def timed(func, repeat):
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    func()
                    times.append(time.perf_counter() - start)
                return statistics.median(times)

            baseline = timed(lambda: HTML(string="<html><body><p>Zażółć gęślą jaźń</p></body></html>").write_pdf(), args.pdf_repeat)
            staff, session, decisions = _batch_world(args.certificates)
            rss: list[int] = []
            rss_before, maxrss_before = _rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            printing: list[float] = []  # each certificate's PDF, as the batch renders it
            real_render = pdf.render_certificate

            def timed_render(*args_, **kwargs):
                start = time.perf_counter()
                try:
                    return real_render(*args_, **kwargs)
                finally:
                    printing.append(time.perf_counter() - start)

            pdf.render_certificate = timed_render
            try:
                wall, job = _run_batch(staff, session, decisions, lambda _certificate, **_extra: rss.append(_rss_bytes()))
            finally:
                pdf.render_certificate = real_render
            maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            issued, pdf_bytes, zip_bytes = _issued(session.id), _session_pdf_bytes(session.id), len(job.result or b"")
            one = db.session.scalar(select(Certificate).order_by(Certificate.id.desc()))
            pdf_only = timed(lambda: pdf.render_certificate(one.content), args.pdf_repeat)
            artifacts = sorted(hooks.ARTIFACTS)

            traced_count = min(args.traced_certificates, args.certificates)
            staff, traced_session, decisions = _batch_world(traced_count, first_index=args.certificates)
            heap: list[int] = []
            tracemalloc.start()
            try:
                _run_batch(staff, traced_session, decisions, lambda _certificate, **_extra: heap.append(tracemalloc.get_traced_memory()[0]))
                heap_peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            traced_pdf_bytes = _session_pdf_bytes(traced_session.id)

    per_certificate = wall / args.certificates
    tenth = max(1, len(rss) // 10)
    return {
        "certificates": args.certificates,
        "issued": issued,
        "artifacts_per_certificate": artifacts,
        "baseline_minimal_pdf_s": baseline,
        "batch_s": wall,
        "per_certificate_s": per_certificate,
        "per_certificate_ratio": per_certificate / baseline,
        "certificate_pdf_only_s": pdf_only,
        "certificate_pdf_only_ratio": pdf_only / baseline,
        "pdf_in_batch_s": statistics.mean(printing),
        "pdf_in_batch_ratio": statistics.mean(printing) / baseline,
        "pdf_in_batch_p95_ratio": sorted(printing)[int(len(printing) * 0.95)] / baseline,
        "goal": "each certificate's PDF, in the batch (the first one's backdrop included), <= 2x the minimal one-page document",
        "goal_met": statistics.mean(printing) / baseline <= 2,
        "memory": {
            "pdfs_issued_mb": round(pdf_bytes / mb, 1),
            "zip_mb": round(zip_bytes / mb, 1),
            "rss_before_batch_mb": round(rss_before / mb, 1),
            "rss_after_first_tenth_mb": round(max(rss[:tenth]) / mb, 1),
            "rss_peak_while_issuing_mb": round(max(rss) / mb, 1),
            "rss_after_last_certificate_mb": round(rss[-1] / mb, 1),
            "peak_rss_grew_during_batch_mb": round((maxrss_after - maxrss_before) / mb, 1),
            "traced_batch": {
                "certificates": traced_count,
                "pdfs_issued_mb": round(traced_pdf_bytes / mb, 1),
                "python_heap_after_first_tenth_mb": round(max(heap[:max(1, len(heap) // 10)]) / mb, 1),
                "python_heap_peak_while_issuing_mb": round(max(heap) / mb, 1),
                "python_heap_after_last_certificate_mb": round(heap[-1] / mb, 1),
                "python_heap_peak_mb": round(heap_peak / mb, 1),
            },
        },
    }

def suite_examday(args) -> dict:
    """N candidates of one session through the real HTTP flow on PostgreSQL and gunicorn (bench/examday.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import examday

    return examday.run(args)


SUITES = {"load": suite_load, "pdf": suite_pdf, "sandbox": suite_sandbox, "certificates": suite_certificates,
          "examday": suite_examday}
#: Suites that need services of their own (PostgreSQL, Redis): run only when named.
NAMED_ONLY = ("examday",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    # No ``choices`` here: Python 3.11's argparse checks the empty default list of ``nargs="*"``
    # against them and refuses to run with no suite named ("invalid choice: []").
    parser.add_argument("suites", nargs="*", metavar="suite",
                        help=f"suites to run: {', '.join(sorted(SUITES))} (default: all but {', '.join(NAMED_ONLY)}, "
                             "which needs PostgreSQL and Redis)")
    parser.add_argument("--requests", type=int, default=400, help="requests per page in the load suite")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pdf-repeat", type=int, default=5)
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--opportunities", type=int, default=50000)
    parser.add_argument("--page-repeat", type=int, default=3)
    parser.add_argument("--certificates", type=int, default=1000, help="certificates issued in one batch job")
    parser.add_argument("--candidates", type=int, default=None,
                        help="examday: candidates of the session (default 100; the issue's goal is for 1,000)")
    parser.add_argument("--quick", action="store_true",
                        help="examday: a short run (20 s check-in, 10 answers each, 10 s saturation): a few minutes")
    parser.add_argument("--login-window", type=float, default=None,
                        help="examday: seconds over which the candidates log in (default 300, --quick 20)")
    parser.add_argument("--answers", type=int, default=None, help="examday: answers per candidate (default 30, --quick 10)")
    parser.add_argument("--start-only", action="store_true",
                        help="examday: the start spike alone (each candidate stops on the first question's page)")
    parser.add_argument("--deadline", action="store_true",
                        help="examday: nobody submits; every test ends by the clock (the test's time set for the run), "
                             "and the pages do what they do at 0:00")
    parser.add_argument("--gunicorn-args", default=None,
                        help="examday: GUNICORN_CMD_ARGS besides the address (default: --workers 4)")
    parser.add_argument("--login-limit", default=None,
                        help="examday: LOGIN_RATE_LIMIT and LOGIN_ADDRESS_RATE_LIMIT for the server (default: the app's)")
    parser.add_argument("--traced-certificates", type=int, default=50,
                        help="certificates of the second batch, whose Python heap is traced (slower)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)} (choose from {', '.join(sorted(SUITES))})")
    args.suites = args.suites or sorted(set(SUITES) - set(NAMED_ONLY))
    return args


def main() -> None:
    args = parse_args()
    results = {}
    for name in args.suites:
        print(f"== {name}", flush=True)
        results[name] = SUITES[name](args)
        print(json.dumps(results[name], indent=2, ensure_ascii=False), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
