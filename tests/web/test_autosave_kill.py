"""No acknowledged answer is lost when the server is killed (SIGKILL, no chance to clean up).

gunicorn runs the portal as the README's production line does (threaded workers) on the test
database; a candidate's page autosaves a stream of answers to it from another thread while the
whole server is killed with SIGKILL partway. Every answer the server acknowledged (a 200) must be
in the database afterwards, and each question must hold at least the newest acknowledged answer.
The page's queue then replays what was not acknowledged to a restarted server: nothing is stored
twice and the last answers stand.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AttemptAnswer, AttemptItem, AttemptStatus, Role
from examportal.theory import services
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "EXAMPORTAL_CONFIG": "test", "TEST_DATABASE_URL": database_url,
               "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{self.port} --workers 2"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "examportal:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("gunicorn did not start")

    def request(self, method: str, path: str, body: dict[str, str] | None = None,
                cookie: str = "") -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Accept": "application/json", "Cookie": cookie}
            data = None
            if body is not None:
                data = urllib.parse.urlencode(body)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def kill(self) -> None:
        """SIGKILL to the master and its workers (their process group): nothing runs on."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.mark.committing
def test_no_acknowledged_answer_is_lost_when_the_server_is_killed(app, qualification, database_url, tmp_path):
    bank = factories.write_theory_bank(tmp_path)
    app.config["THEORY_ITEM_BANK"] = bank
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    attempt = factories.make_attempt(factories.enrol(session, candidate), status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    choices = {i.position: [oid for oid, _text in services.candidate_display(i, "pl")["options"]]
               for i in attempt.items if i.snapshot["item"]["type"] == "single_choice"}
    db.session.commit()
    positions, attempt_id = sorted(choices)[:4], attempt.id

    server = Server(database_url)
    status, headers = server.request("POST", "/auth/login", {"email": candidate.email, "password": factories.PASSWORD})
    assert status == 302, status
    cookie = headers["set-cookie"].split(";", 1)[0]

    acked: list[tuple[int, int]] = []  # (seq, position)
    unacknowledged: list[tuple[int, int]] = []
    stop = threading.Event()

    def answer(seq: int) -> tuple[int, int, dict[str, str]]:
        position = positions[seq % len(positions)]
        body = {"position": str(position), "seq": str(seq), "answer": choices[position][seq % len(choices[position])]}
        return seq, position, body

    def autosave() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            _seq, position, body = answer(seq)
            try:
                status, _headers = server.request("POST", f"/theory/attempts/{attempt_id}/answer", body, cookie)
            except (OSError, http.client.HTTPException):  # refused, reset, cut off: no acknowledgement
                unacknowledged.append((seq, position))  # the page keeps it queued
                break
            (acked if status == 200 else unacknowledged).append((seq, position))

    thread = threading.Thread(target=autosave)
    thread.start()
    deadline = time.monotonic() + 60
    while len(acked) < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    stop.set()
    thread.join(timeout=30)
    assert len(acked) >= 25

    def stored() -> tuple[set[int], dict[int, int]]:
        db.session.expire_all()
        history = set(db.session.scalars(select(AttemptAnswer.seq).where(AttemptAnswer.attempt_id == attempt_id)))
        items = dict(db.session.execute(select(AttemptItem.position, AttemptItem.answer_seq)
                                        .where(AttemptItem.attempt_id == attempt_id)).all())
        return history, items

    history, items = stored()
    assert {seq for seq, _position in acked} <= history
    for position in positions:
        newest = max((seq for seq, p in acked if p == position), default=0)
        assert items[position] >= newest

    # The page replays its queue to the server started again: every answer once, the last ones standing.
    server = Server(database_url)
    try:
        status, headers = server.request("POST", "/auth/login", {"email": candidate.email, "password": factories.PASSWORD})
        cookie = headers["set-cookie"].split(";", 1)[0]
        for seq, _position in unacknowledged:
            _seq, _p, body = answer(seq)
            assert server.request("POST", f"/theory/attempts/{attempt_id}/answer", body, cookie)[0] == 200
    finally:
        server.kill()
    history, items = stored()
    sent = [seq for seq, _p in acked] + [seq for seq, _p in unacknowledged]
    assert history == set(sent) and len(sent) == len(set(sent))
    for position in positions:
        assert items[position] == max(seq for seq in sent if positions[seq % len(positions)] == position)
