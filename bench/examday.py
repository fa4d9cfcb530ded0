"""The exam-day bench: N candidates of one session through the real HTTP flow, on PostgreSQL, with
the server run as the README's production line runs it (gunicorn, production configuration,
Redis-backed rate limits). See bench/README.md ("examday").

Load shape: logins with CSRF spread over the check-in window (all from 127.0.0.1: one exam room
behind one address), the operator's unlock (the signal), start clicks spread over 10 s, then per
candidate what the test page's script does — the other questions fetched after a random wait,
a heartbeat every 15 s, an autosave after each think time — and the submission. Then closed-loop
saturation with no think time: autosave on the portal, and a bare Flask no-op endpoint served by
gunicorn with the same settings, compared as a ratio. Acknowledged answers are checked against
the database afterwards.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
import timeit
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-haslo-2026"  # noqa: S105  (the bench's own throw-away accounts)
CLIENT_TIMEOUT = 60.0
HEARTBEAT_SECONDS = 15.0  # as examportal/static/theory.js
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/examday_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
DEFAULT_GUNICORN = "--workers 4"  # the README's example for the web process


@dataclass
class Shape:
    """The load: how many, how spread, how fast."""

    candidates: int
    login_window: float  # seconds over which the candidates log in (check-in before the start)
    start_window: float = 10.0  # seconds over which they click "Start" after the signal
    answers: int = 30
    think: tuple[float, float] = (5.0, 15.0)
    prefetch_spread: float = 30.0  # when a page does not say (data-prefetch-spread, THEORY_PREFETCH_SPREAD_SECONDS)
    saturation_seconds: float = 20.0
    saturation_clients: int = 16
    start_only: bool = False  # the start spike alone: no prefetch, answers, heartbeats or submission
    deadline: bool = False  # the tests end by the clock: nobody submits, the time runs out for everyone

    @property
    def time_limit_seconds(self) -> int:
        """The test's time in a deadline run: the slowest candidate's answers and their prefetch, and
        a margin, so every test ends by the clock with its answers given."""
        return int(self.answers * self.think[1] + self.prefetch_spread + 30)


    @classmethod
    def from_args(cls, args: Any) -> Shape:
        quick = bool(args.quick)
        candidates = args.candidates or 100
        return cls(candidates=candidates,
                   login_window=args.login_window if args.login_window is not None else (20.0 if quick else 300.0),
                   answers=args.answers or (10 if quick else 30),
                   saturation_seconds=10.0 if quick else 20.0, start_only=bool(args.start_only),
                   deadline=bool(getattr(args, "deadline", False)))


# --------------------------------------------------------------------------- the browser


CSRF = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')
FORM = re.compile(r'<form method="post" id="q-(\d+)".*?</form>', re.S)


class Unreachable(Exception):
    """The request got no HTTP answer (time-out, refused or dropped connection); ``kind`` says which."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Browser:
    """One candidate's browser: a connection to the server (reopened when the server closes it,
    as gunicorn's sync workers do after each response) and a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, form: list[tuple[str, str]] | dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, str | None]:
        """(status, body, Location) of one request; Unreachable when no answer came."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        reused = self.conn.sock is not None
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
        except TimeoutError as error:
            self.conn.close()
            raise Unreachable("timeout") from error
        except (ConnectionError, http.client.HTTPException, OSError) as error:
            self.conn.close()
            if reused and isinstance(error, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError):
                # The server closed a kept-alive connection while it was idle (gthread's keepalive):
                # a browser sends the request again on a new one, and so does this client, once.
                return self.request(method, path, form, headers)
            raise Unreachable("connection") from error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
        token = CSRF.search(payload)
        if token:
            self.csrf = token.group(1).decode()
        location = response.headers.get("Location")
        return response.status, payload, urlsplit(location).path if location else None


# --------------------------------------------------------------------------- what happened


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_s": None, "p95_s": None, "p99_s": None, "max_s": None}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 4)

    return {"count": len(ordered), "p50_s": at(0.50), "p95_s": at(0.95), "p99_s": at(0.99), "max_s": round(ordered[-1], 4)}


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Record:
    """Timings, errors and acknowledged answers, shared by every candidate's thread."""

    times: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    acked: list[tuple[int, int, int]] = field(default_factory=list)  # (attempt id, seq, position)
    clicks: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    zeros: list[float] = field(default_factory=list)  # deadline runs: each page's clock at 0:00
    finished: list[float] = field(default_factory=list)  # and its overview page loaded after the submission
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times.setdefault(kind, []).append(seconds)

    def error(self, kind: str, what: int | str) -> None:
        with self.lock:
            self.errors[f"{kind}:{what}"] += 1


@dataclass
class Candidate:
    email: str
    enrolment_id: int
    login_at: float  # seconds after the bench's start
    click_after: float  # seconds after the signal


class Run:
    """One exam day: the candidates' threads, the signal and the record."""

    def __init__(self, port: int, shape: Shape) -> None:
        self.port, self.shape = port, shape
        self.record = Record()
        self.signal = threading.Event()
        self.signal_at = 0.0
        self.logged_in = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def wait_until(self, moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def timed(self, kind: str, browser: Browser, method: str, path: str, form: Any = None,
              headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,)) -> tuple[int, bytes, str | None] | None:
        """One request, timed under ``kind``; None (and the error recorded) unless its status is expected."""
        start = time.monotonic()
        try:
            status, body, location = browser.request(method, path, form, headers)
        except Unreachable as error:
            self.record.error(kind, error.kind)
            return None
        if status not in expect:
            self.record.error(kind, status)
            return None
        self.record.time(kind, time.monotonic() - start)
        return status, body, location

    # ----------------------------------------------------------------------- one candidate

    def candidate(self, who: Candidate) -> None:
        browser = Browser(self.port)
        self.wait_until(self.t0 + who.login_at)
        if not self.log_in(browser, who):
            return
        overview = f"/theory/enrolments/{who.enrolment_id}"
        self.timed("waiting_page", browser, "GET", overview)
        with self.lock:
            self.logged_in += 1
        self.signal.wait()
        self.wait_until(self.signal_at + who.click_after)
        exam = self.start(browser, overview)
        if exam is None or self.shape.start_only:
            return
        self.answer(browser, exam)
        if self.shape.deadline:
            self.until_time_is_up(browser, exam, overview)
        else:
            self.submit(browser, exam, overview)

    def log_in(self, browser: Browser, who: Candidate) -> bool:
        start = time.monotonic()
        try:
            status, _body, _location = browser.request("GET", "/auth/login")
            if status == 200:
                status, _body, _location = browser.request("POST", "/auth/login", {
                    "email": who.email, "password": PASSWORD, "csrf_token": browser.csrf})
        except Unreachable as error:
            self.record.error("login", error.kind)
            return False
        if status != 302:
            self.record.error("login", status)
            return False
        self.record.time("login", time.monotonic() - start)
        return True

    def start(self, browser: Browser, overview: str) -> Exam | None:
        """The click on the waiting page's "Start the test" (its form and token were there before
        the unlock), answered with the first question's page."""
        click = time.monotonic()
        posted = self.timed("start_click", browser, "POST", overview + "/start", {"csrf_token": browser.csrf},
                            expect=(200, 302))
        if posted is not None and posted[0] == 302 and posted[2] and "/q/" in posted[2]:
            # The click arrived twice (a connection dropped and the request sent again): the test
            # runs, and the second answer leads to its question, as a browser would follow it.
            posted = self.timed("question_page", browser, "GET", posted[2])
        exam = Exam.started(posted[1].decode()) if posted is not None else None
        if exam is None:
            if posted is not None:
                self.record.error("start", "not-started")
            return None
        arrived = time.monotonic()
        self.record.time("start", arrived - click)
        with self.record.lock:
            self.record.clicks.append(click)
            self.record.arrivals.append(arrived)
        return exam

    def answer(self, browser: Browser, exam: Exam) -> None:
        shape, rng = self.shape, random.Random(exam.attempt_id)
        now = time.monotonic()
        next_beat = now + HEARTBEAT_SECONDS
        spread = shape.prefetch_spread if exam.prefetch_spread is None else exam.prefetch_spread
        prefetch_at = None if exam.complete else now + rng.uniform(0, spread)
        next_answer = now + rng.uniform(*shape.think)
        positions = list(range(1, min(shape.answers, exam.total) + 1))
        headers = {"X-CSRFToken": browser.csrf, "Accept": "application/json"}
        current = 1
        while positions:
            due = min(next_beat, next_answer, prefetch_at if prefetch_at is not None else float("inf"))
            self.wait_until(due)
            if prefetch_at is not None and due == prefetch_at:
                self.fetch_questions(browser, exam)
                prefetch_at = None
                continue
            if due == next_beat:
                self.beat(browser, exam, current, headers)
                next_beat += HEARTBEAT_SECONDS
                continue
            position = positions.pop(0)
            if position not in exam.forms:  # went to a question before the others were fetched
                self.fetch_questions(browser, exam)
                prefetch_at = None
            fields = answer_fields(exam.forms.get(position, ""))
            if fields:
                seq = exam.next_seq
                exam.next_seq += 1
                done = self.timed("autosave", browser, "POST", f"{exam.base}/answer",
                                  [("position", str(position)), ("seq", str(seq)), *fields], headers)
                if done is not None:
                    exam.clock(_json(done[1]).get("time_left"))
                    with self.record.lock:
                        self.record.acked.append((exam.attempt_id, seq, position))
            current = position
            next_answer = time.monotonic() + rng.uniform(*shape.think)

    def beat(self, browser: Browser, exam: Exam, position: int, headers: dict[str, str], kind: str = "heartbeat") -> str | None:
        """One heartbeat, its clock taken as the page takes it; the attempt's status (None: no answer)."""
        done = self.timed(kind, browser, "POST", f"{exam.base}/heartbeat", {"position": str(position)}, headers)
        if done is None:
            return None
        data = _json(done[1])
        exam.clock(data.get("time_left"))
        return str(data.get("status"))

    def until_time_is_up(self, browser: Browser, exam: Exam, overview: str) -> None:
        """What the page does until its time runs out (examportal/static/theory.js): a heartbeat every
        15 s; at 0:00 one every second, one at a time, until the server says the test is submitted;
        then the overview page. Timed from 0:00 on the page's clock to the overview page loaded."""
        headers = {"X-CSRFToken": browser.csrf, "Accept": "application/json"}
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        while exam.ends_at is not None and time.monotonic() < exam.ends_at:
            self.wait_until(min(next_beat, exam.ends_at))
            if time.monotonic() >= next_beat:
                self.beat(browser, exam, 1, headers)
                next_beat += HEARTBEAT_SECONDS
        zero = time.monotonic()
        with self.record.lock:
            self.record.zeros.append(zero)
        while True:
            asked = time.monotonic()
            status = self.beat(browser, exam, 1, headers, kind="heartbeat_at_zero")
            if status == "submitted":
                break
            if time.monotonic() - zero > 2 * CLIENT_TIMEOUT:
                self.record.error("deadline", "never-submitted")
                return
            self.wait_until(asked + 1.0)
        if self.timed("overview_after_deadline", browser, "GET", overview) is None:
            return
        finished = time.monotonic()
        self.record.time("deadline", finished - zero)
        with self.record.lock:
            self.record.finished.append(finished)

    def fetch_questions(self, browser: Browser, exam: Exam) -> None:
        fetched = self.timed("questions_fragment", browser, "GET", f"{exam.base}/questions", headers={"Accept": "text/html"})
        if fetched is not None:
            exam.forms.update(forms_in(fetched[1].decode()))

    def submit(self, browser: Browser, exam: Exam, overview: str) -> None:
        if self.timed("review", browser, "GET", f"{exam.base}/review") is None:
            return
        start = time.monotonic()
        posted = self.timed("submit_post", browser, "POST", f"{exam.base}/submit",
                            {"csrf_token": browser.csrf, "confirm": "y"}, expect=(302,))
        if posted is None or self.timed("submitted_page", browser, "GET", posted[2] or overview) is None:
            return
        self.record.time("submit", time.monotonic() - start)


@dataclass
class Exam:
    """The test page as the script reads it: the attempt, its sequence numbers and the forms at hand."""

    base: str
    attempt_id: int
    next_seq: int
    total: int
    forms: dict[int, str]
    prefetch_spread: float | None = None  # the page's data-prefetch-spread, which the script waits within
    ends_at: float | None = None  # when the page's clock shows 0:00 (time.monotonic()), from the server's time_left

    def clock(self, time_left: object) -> None:
        """The server's time left (a page's, an answer's or a heartbeat's), as the page's clock re-syncs."""
        if isinstance(time_left, int | float) or (isinstance(time_left, str) and time_left.isdigit()):
            self.ends_at = time.monotonic() + float(time_left)

    @property
    def complete(self) -> bool:
        return len(self.forms) >= self.total

    @classmethod
    def started(cls, html: str) -> Exam | None:
        """The test page the start click is answered with (None when the click did not start it)."""
        address = re.search(r'data-question-url="([^"]+)"', html)
        return cls.read(html, address.group(1)) if address else None

    @classmethod
    def read(cls, html: str, path: str) -> Exam:
        def attribute(name: str) -> str | None:
            found = re.search(rf'data-{name}="([^"]*)"', html)
            return found.group(1) if found else None

        forms = forms_in(html)
        total = attribute("total")  # the page of one question says how many there are
        spread = attribute("prefetch-spread")
        exam = cls(base=path.rsplit("/q/", 1)[0], attempt_id=int(attribute("attempt") or 0),
                   next_seq=int(attribute("next-seq") or 1), total=int(total) if total else len(forms), forms=forms,
                   prefetch_spread=float(spread) if spread else None)
        exam.clock(attribute("time-left"))
        return exam


def forms_in(html: str) -> dict[int, str]:
    return {int(found.group(1)): found.group(0) for found in FORM.finditer(html)}


def answer_fields(form: str) -> list[tuple[str, str]]:
    """Some complete answer to a question form, as the page would send it."""
    choices = re.findall(r'<input type="(?:radio|checkbox)" name="answer" value="([^"]+)"', form)
    if choices:
        return [("answer", choices[0])]
    orders = re.findall(r'<select name="(order-[^"]+)"', form)
    if orders:
        return [(name, str(place)) for place, name in enumerate(orders, start=1)]
    pairs = []
    for place, (name, options) in enumerate(re.findall(r'<select name="(match-[^"]+)">(.*?)</select>', form, re.S)):
        values = [value for value in re.findall(r'<option value="([^"]*)"', options) if value]
        if values:
            pairs.append((name, values[place % len(values)]))
    return pairs


# --------------------------------------------------------------------------- closed loop


def closed_loop(port: int, seconds: float, clients: list[Callable[[Browser], tuple[str, str, Any, dict[str, str]]]],
                prepare: Callable[[Browser, int], None] | None = None,
                answered: Callable[[Browser], None] | None = None, server_cpu: Callable[[], float] | None = None) -> dict[str, Any]:
    """Each client sends its next request as soon as the previous one is answered, for ``seconds``:
    requests per second, latencies and errors; with ``server_cpu``, the server's and this client's
    CPU per request (which of them was the limit). ``answered`` is told of each 200."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    ready = threading.Barrier(len(clients) + 1)
    end = [0.0]

    def loop(index: int, next_request: Callable[[Browser], tuple[str, str, Any, dict[str, str]]]) -> None:
        browser = Browser(port)
        if prepare is not None:
            prepare(browser, index)
        ready.wait()
        while time.monotonic() < end[0]:
            method, path, form, headers = next_request(browser)
            start = time.monotonic()
            try:
                status, _body, _location = browser.request(method, path, form, headers)
            except Unreachable as error:
                with lock:
                    errors[error.kind] += 1
                continue
            with lock:
                if status == 200:
                    latencies.append(time.monotonic() - start)
                else:
                    errors[str(status)] += 1
            if status == 200 and answered is not None:
                answered(browser)

    threads = [threading.Thread(target=loop, args=(n, client), daemon=True) for n, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    end[0] = time.monotonic() + seconds + 3600  # set for real once every client is ready
    ready.wait()
    server_before, client_before = server_cpu() if server_cpu else 0.0, _own_cpu()
    began = time.monotonic()
    end[0] = began + seconds
    for thread in threads:
        thread.join(timeout=seconds + CLIENT_TIMEOUT + 5)
    wall = time.monotonic() - began
    done = max(1, len(latencies))
    cpu = {"client_cpu_ms_per_request": round(1000 * (_own_cpu() - client_before) / done, 3)}
    if server_cpu:
        cpu["server_cpu_ms_per_request"] = round(1000 * (server_cpu() - server_before) / done, 3)
    return {"clients": len(clients), "seconds": round(wall, 2), "requests": len(latencies),
            "requests_per_s": round(len(latencies) / wall, 1), "errors": dict(errors), **cpu, **percentiles(latencies)}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- server and database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children (gunicorn's master and workers), from /proc:
    the living ones' own, and the reaped ones' (a worker replaced after its requests counts on)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15]) / ticks  # utime, stime, cutime, cstime
            pids += [int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


class Server:
    """gunicorn as the README's production line runs it: ``gunicorn -c gunicorn.conf.py APP`` with the
    address and workers in GUNICORN_CMD_ARGS."""

    def __init__(self, app: str, env: dict[str, str], gunicorn_args: str, health: str = "/healthz") -> None:
        self.port = free_port()
        self.env = dict(env, GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{self.port} {gunicorn_args}")
        self.process = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", app], cwd=ROOT,
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Browser(self.port).request("GET", health)[0] == 200:
                    return
            except Unreachable:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{app} did not come up on port {self.port}")

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def fresh_database(url: str) -> None:
    """The bench's own PostgreSQL database, created when missing and emptied."""
    from sqlalchemy import create_engine, text

    base, name = url.rsplit("/", 1)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"unsupported bench database name: {name!r}")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def server_environment(database_url: str, redis_url: str, login_limit: str | None) -> dict[str, str]:
    env = dict(os.environ, FLASK_APP="examportal", EXAMPORTAL_CONFIG="production", DATABASE_URL=database_url,
               RATELIMIT_STORAGE_URI=redis_url, SECRET_KEY=secrets.token_hex(32), AUDIT_KEY=secrets.token_hex(32),
               CREDENTIAL_KEY=secrets.token_hex(32), PUBLIC_BASE_URL="http://127.0.0.1")
    env.pop("REDIS_URL", None)  # background jobs in-process: none run on exam day
    if login_limit:
        env.update(LOGIN_RATE_LIMIT=login_limit, LOGIN_ADDRESS_RATE_LIMIT=login_limit)
    return env


def empty_rate_limits(redis_url: str) -> None:
    """The limits' counters of an earlier run (the bench's own Redis database) would refuse this run's logins."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()


@dataclass
class World:
    session_id: int
    operator_id: int
    candidates: list[tuple[str, int]]  # (e-mail, enrolment id)
    saturation: list[tuple[str, int]]


def populate(app: Any, count: int, extra: int) -> World:
    """One session at one institution with ``count`` candidates for the exam and ``extra`` for the
    saturation, each enrolled and checked in by the session's operator, their test items drawn as
    the check-in draws them (set-up, not timed)."""
    from examportal.extensions import db
    from examportal.models import (
        Enrolment,
        Institution,
        InstitutionKind,
        Role,
        SessionMode,
        SessionStatus,
        User,
        UserRole,
        ValidationSession,
        utcnow,
    )
    from examportal.qualifications.services import load_file
    from examportal.security import hash_password
    from examportal.theory import services as theory
    from question_bank.definition import definition_path

    with app.app_context():
        qualification, _changed = load_file(definition_path("13881"))
        institution = Institution(name="Bench: exam centre", short_name="BENCH", kind=InstitutionKind.CERTIFYING)
        db.session.add(institution)
        db.session.flush()
        institution.qualifications.append(qualification)
        password_hash = hash_password(PASSWORD)  # once: a hash per account would take minutes
        now = utcnow()

        def person(email: str, n: int, role: Role) -> User:
            user = User(email=email, password_hash=password_hash, first_name="Kandydat", last_name=f"Ławkowy {n}",
                        email_confirmed_at=now, birth_date=date(1990, 1, 1), birth_place="Kraków")
            user.roles.append(UserRole(role=role, institution_id=institution.id if role != Role.CANDIDATE else None))
            return user

        operator = person("operator@bench.example.pl", 0, Role.OPERATOR)
        db.session.add(operator)
        db.session.flush()
        session = ValidationSession(institution_id=institution.id, qualification_id=qualification.id,
                                    title="Bench: exam day", starts_at=now + timedelta(minutes=5), place="Kraków",
                                    mode=SessionMode.ONSITE, status=SessionStatus.PLANNED, capacity=count + extra,
                                    operator_id=operator.id)
        db.session.add(session)
        people = [person(f"kandydat{n}@bench.example.pl", n, Role.CANDIDATE) for n in range(count + extra)]
        db.session.add_all(people)
        db.session.flush()
        enrolments = [Enrolment(session_id=session.id, candidate_id=p.id) for p in people]
        for enrolment in enrolments:  # checked in: the theory test is unlocked for checked-in candidates only
            enrolment.checked_in_at, enrolment.checked_in_by_id, enrolment.identity_document = now, operator.id, "id_card"
        db.session.add_all(enrolments)
        db.session.commit()
        theory.ensure_attempts(session)
        for enrolment in enrolments:  # as the check-in does: each candidate's items drawn ahead of the start
            theory.prepare(enrolment)
        db.session.commit()
        pairs = [(p.email, e.id) for p, e in zip(people, enrolments, strict=True)]
        return World(session_id=session.id, operator_id=operator.id, candidates=pairs[:count], saturation=pairs[count:])


def unlock(app: Any, world: World) -> None:
    """The operator's signal: every candidate's test unlocked (in-process, as the console's action)."""
    from examportal.extensions import db
    from examportal.models import OperatorActionKind, User, ValidationSession
    from examportal.theory import services as theory

    with app.app_context():
        session = db.session.get(ValidationSession, world.session_id)
        operator = db.session.get(User, world.operator_id)
        theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "Bench: the start signal")


def time_limit(app: Any, world: World, seconds: int) -> None:
    """A deadline run: the session's tests given ``seconds`` each (set-up, before any starts)."""
    from sqlalchemy import update

    from examportal.extensions import db
    from examportal.models import TheoryAttempt

    with app.app_context():
        db.session.execute(update(TheoryAttempt).where(TheoryAttempt.session_id == world.session_id)
                           .values(time_limit_seconds=seconds))
        db.session.commit()


def check_stored(database_url: str, acked: list[tuple[int, int, int]]) -> dict[str, int]:
    """Acknowledged answers found in the history, and items whose stored answer is older than the
    newest acknowledged one (a lost answer)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    attempts = sorted({attempt for attempt, _seq, _position in acked})
    history: set[tuple[int, int]] = set()
    items: dict[tuple[int, int], int] = {}
    with engine.connect() as conn:
        for start in range(0, len(attempts), 500):
            batch = {"ids": attempts[start:start + 500]}
            history |= {(a, s) for a, s in conn.execute(
                text("SELECT attempt_id, seq FROM attempt_answer WHERE attempt_id = ANY(:ids)"), batch)}
            items |= {(a, p): s for a, p, s in conn.execute(
                text("SELECT attempt_id, position, answer_seq FROM attempt_item WHERE attempt_id = ANY(:ids)"), batch)}
    engine.dispose()
    newest: dict[tuple[int, int], int] = {}
    for attempt, seq, position in acked:
        newest[(attempt, position)] = max(seq, newest.get((attempt, position), 0))
    return {"stored": sum((a, s) in history for a, s, _p in acked),
            "items_older_than_acknowledged": sum(items.get(key, 0) < seq for key, seq in newest.items())}


# --------------------------------------------------------------------------- the suite


def _phase(record: Record, kinds: tuple[str, ...]) -> dict[str, Any]:
    return {kind: percentiles(record.times.get(kind, [])) for kind in kinds}


def python_loop_ms() -> float:
    """This machine's speed at plain Python: the best of five runs of one fixed loop (the sum of a
    million integers), in ms. Machines of one kind differ up to threefold in what one request costs,
    so two runs' seconds compare only beside it; measured before the server starts."""
    return round(min(timeit.repeat("sum(range(10**6))", number=1, repeat=5)) * 1000, 1)


def run(args: Any) -> dict[str, Any]:
    speed = python_loop_ms()
    shape = Shape.from_args(args)
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    gunicorn_args = args.gunicorn_args or DEFAULT_GUNICORN
    print(f"examday: {shape.candidates} candidates, login window {shape.login_window:.0f} s, "
          f"{shape.answers} answers each, think {shape.think[0]:.0f}-{shape.think[1]:.0f} s, gunicorn {gunicorn_args}; "
          f"this machine's Python loop {speed} ms", flush=True)
    fresh_database(database_url)
    empty_rate_limits(redis_url)
    env = server_environment(database_url, redis_url, args.login_limit)
    subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update({k: env[k] for k in ("EXAMPORTAL_CONFIG", "DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY",
                                           "AUDIT_KEY", "CREDENTIAL_KEY")})
    from examportal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    world = populate(app, shape.candidates, shape.saturation_clients)
    if shape.deadline:
        time_limit(app, world, shape.time_limit_seconds)
    rng = random.Random(16)
    candidates = [Candidate(email, enrolment_id, rng.uniform(0, shape.login_window), rng.uniform(0, shape.start_window))
                  for email, enrolment_id in world.candidates]

    # The no-op's rate moved by half between identical runs on a shared machine: it is measured
    # before the exam day and again after the portal's saturation, and the faster run is the baseline.
    noops = [bare_flask_noop(env, gunicorn_args, shape)]
    server = Server("examportal:create_app()", env, gunicorn_args)
    try:
        day = Run(server.port, shape)
        cpu_server, cpu_client, wall = server.cpu(), resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        threads = [threading.Thread(target=day.candidate, args=(who,), daemon=True) for who in candidates]
        for thread in threads:
            thread.start()
        # The signal once the check-in window is over and everyone who could log in has.
        day.wait_until(day.t0 + shape.login_window)
        deadline = time.monotonic() + CLIENT_TIMEOUT * 2
        while time.monotonic() < deadline and day.logged_in + sum(day.record.errors[k] for k in day.record.errors
                                                                  if k.startswith("login")) < len(candidates):
            time.sleep(0.2)
        unlock(app, world)
        day.signal_at = time.monotonic()
        day.signal.set()
        deadline = time.monotonic() + shape.start_window + shape.answers * shape.think[1] + 10 * CLIENT_TIMEOUT
        if shape.deadline:
            deadline += shape.time_limit_seconds
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
        exam_wall = time.monotonic() - wall
        exam_cpu_server = server.cpu() - cpu_server
        usage = resource.getrusage(resource.RUSAGE_SELF)
        exam_cpu_client = usage.ru_utime + usage.ru_stime - cpu_client.ru_utime - cpu_client.ru_stime

        # Closed loop, no think time: autosave for extra candidates whose tests have started.
        saturation = saturation_autosave(server.port, world.saturation, shape, server.cpu)
        healthz = closed_loop(server.port, shape.saturation_seconds,
                              [lambda _b: ("GET", "/healthz", None, {})] * shape.saturation_clients, server_cpu=server.cpu)
    finally:
        server.stop()
    noops.append(bare_flask_noop(env, gunicorn_args, shape))
    noop = max(noops, key=lambda run: run["requests_per_s"])

    record = day.record
    checked = check_stored(database_url, record.acked)
    saturation_checked = check_stored(database_url, saturation.pop("acked"))
    all_started = (max(record.arrivals) - min(record.clicks)) if record.clicks else None
    result: dict[str, Any] = {
        "candidates": shape.candidates,
        "login_p95_s": percentiles(record.times.get("login", []))["p95_s"],
        "all_started_s": round(all_started, 2) if all_started is not None else None,
        "start_p95_s": percentiles(record.times.get("start", []))["p95_s"],
        "autosave_p95_s": percentiles(record.times.get("autosave", []))["p95_s"],
        "errors": dict(sorted(record.errors.items())),
        "acked": len(record.acked),
        "stored": checked["stored"],
        "autosave_vs_noop": round(saturation["requests_per_s"] / noop["requests_per_s"], 3) if noop["requests_per_s"] else None,
        # The same comparison in the server's CPU per request (the client shares the machine's cores).
        "autosave_vs_noop_server_cpu": round(noop["server_cpu_ms_per_request"] / saturation["server_cpu_ms_per_request"], 3)
        if saturation.get("server_cpu_ms_per_request") else None,
        "started": len(record.arrivals),
        "submitted": len(record.times.get("deadline" if shape.deadline else "submit", [])),
        "items_older_than_acknowledged": checked["items_older_than_acknowledged"],
        "threads_still_running": stuck,
        "timings": _phase(record, ("login", "waiting_page", "start", "start_click", "question_page",
                                   "questions_fragment", "heartbeat", "autosave", "review", "submit",
                                   "heartbeat_at_zero", "overview_after_deadline", "deadline")),
        "autosave_vs_each_noop": [round(saturation["requests_per_s"] / run["requests_per_s"], 3)
                                  for run in noops if run["requests_per_s"]],
        "saturation": {"autosave": saturation, "autosave_checked": saturation_checked, "portal_healthz": healthz,
                       "bare_flask_noop": noop, "bare_flask_noop_before_and_after": noops},
        "cpu": {"exam_wall_s": round(exam_wall, 1), "server_cpu_s": round(exam_cpu_server, 1),
                "server_cores_busy": round(exam_cpu_server / exam_wall, 2), "client_cpu_s": round(exam_cpu_client, 1),
                "client_cores_busy": round(exam_cpu_client / exam_wall, 2), "machine_cores": os.cpu_count(),
                "python_loop_ms": speed},
        "shape": {"login_window_s": shape.login_window, "start_window_s": shape.start_window, "answers": shape.answers,
                  "think_s": list(shape.think), "prefetch_spread_s": shape.prefetch_spread,
                  "saturation_clients": shape.saturation_clients, "saturation_s": shape.saturation_seconds,
                  "quick": bool(args.quick), "start_only": shape.start_only, "deadline": shape.deadline},
        "server": {"command": "gunicorn -c gunicorn.conf.py 'examportal:create_app()'", "GUNICORN_CMD_ARGS": gunicorn_args,
                   "config": "production", "database": "postgresql", "rate_limits": "redis",
                   "login_limit_override": args.login_limit},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if shape.deadline:
        # Every test ended by the clock: from the first page's 0:00 until the last overview page, and each
        # candidate's from their 0:00 to their overview page (heartbeats every second meanwhile).
        result["deadline_p95_s"] = percentiles(record.times.get("deadline", []))["p95_s"]
        result["all_submitted_s"] = round(max(record.finished) - min(record.zeros), 2) if record.finished else None
        result["time_limit_s"] = shape.time_limit_seconds
    suffix = "-start" if shape.start_only else "-deadline" if shape.deadline else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"examday-{shape.candidates}{suffix}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def bare_flask_noop(env: dict[str, str], gunicorn_args: str, shape: Shape) -> dict[str, Any]:
    """The baseline: a bare Flask no-op endpoint (bench/noop_app.py) under the same gunicorn settings,
    closed loop with the saturation's clients and duration."""
    server = Server("bench.noop_app:create_app()", env, gunicorn_args)
    try:
        return closed_loop(server.port, shape.saturation_seconds,
                           [lambda _b: ("POST", "/noop", {"x": "1"}, {"Accept": "application/json"})] * shape.saturation_clients,
                           server_cpu=server.cpu)
    finally:
        server.stop()


def saturation_autosave(port: int, people: list[tuple[str, int]], shape: Shape, server_cpu: Callable[[], float]) -> dict[str, Any]:
    """Closed-loop autosaves from candidates whose tests run (logged in and started first, untimed)."""
    exams: dict[int, Exam] = {}
    acked: list[tuple[int, int, int]] = []
    lock = threading.Lock()

    def prepare(browser: Browser, index: int) -> None:
        email, enrolment_id = people[index]
        browser.request("GET", "/auth/login")
        if browser.request("POST", "/auth/login", {"email": email, "password": PASSWORD, "csrf_token": browser.csrf})[0] != 302:
            raise RuntimeError(f"saturation: {email} could not log in")
        overview = f"/theory/enrolments/{enrolment_id}"
        browser.request("GET", overview)
        exam = Exam.started(browser.request("POST", overview + "/start", {"csrf_token": browser.csrf})[1].decode())
        if exam is None:
            raise RuntimeError(f"saturation: {email} could not start the test")
        if not exam.complete:
            exam.forms.update(forms_in(browser.request("GET", f"{exam.base}/questions")[1].decode()))
        exams[id(browser)] = exam

    sent: dict[int, tuple[int, int, int]] = {}

    def next_answer(browser: Browser) -> tuple[str, str, Any, dict[str, str]]:
        exam = exams[id(browser)]
        seq = exam.next_seq
        exam.next_seq += 1
        position = (seq - 1) % exam.total + 1
        sent[id(browser)] = (exam.attempt_id, seq, position)
        return ("POST", f"{exam.base}/answer", [("position", str(position)), ("seq", str(seq)),
                                                 *answer_fields(exam.forms[position])],
                {"X-CSRFToken": browser.csrf, "Accept": "application/json"})

    def answered(browser: Browser) -> None:
        with lock:
            acked.append(sent[id(browser)])

    result = closed_loop(port, shape.saturation_seconds, [next_answer] * len(people), prepare, answered, server_cpu)
    result["acked"] = acked
    return result
