"""PROBE (temporary): crawl every page as every role, collect every POST form, fuzz each field."""
from __future__ import annotations

import io
import json
import os
import re
import traceback
from collections import defaultdict
from urllib.parse import urlsplit

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

from examportal.extensions import db, limiter
from examportal.models import OutboxMail, Role
from tests.factories import client_as, make_user, write_theory_bank
from tests.web.test_authorization import (
    ADMIN, ANON, APPEALS, ASSESSOR, AUDITOR, CANDIDATE, CHILD_STAFF, OPERATOR, STAFF,
    _institution_world, url_values, walked_rules, methods_of,
)

OUT = "/tmp/probe_input/results"
SSTI = "{{ 7*7777 }}"
SSTI_OUT = "54439"
SCRIPT = "<script>alert(1)</script>"
HOSTILE = {
    "empty": "",
    "long": "x" * 20000,
    "nul": "a\x00b",
    "script": SCRIPT,
    "ssti": SSTI,
    "csv": "=cmd|' /C calc'!A0",
    "huge": "99999999999999999999",
    "neg": "-1",
    "inf": "1e309",
    "nan": "NaN",
    "date0": "0000-00-00",
    "date9": "9999-12-31",
    "datebad": "2026-02-30",
    "dt9": "9999-12-31T23:59",
    "dt0": "0001-01-01T00:00",
    "unicode": "\u202eabc\u200b e\u0301 \U0001F642 \u0645\u0631\u062d\u0628\u0627",
    "word": "abc",
    "sup": "\u00b2",
    "ctrl": "a\x01\x1b\x7fb",
    "crlf": "a\r\nBcc: evil@example.com",
    "space": "   ",
}

DESTRUCTIVE = ("logout", "two-factor/off", "deactivate", "second-factor-reset", "/theory/enrolments/", "/practical/",
               "/start", "recovery-codes", "/lang/")


def parse_forms(html: str, page_path: str):
    try:
        doc = lxml.html.fromstring(html)
    except Exception:
        return []
    forms = []
    for form in doc.forms:
        if (form.get("method") or "get").lower() != "post":
            continue
        action = form.get("action") or page_path
        action = urlsplit(action)
        action = action.path + (("?" + action.query) if action.query else "")
        if not action.startswith("/"):
            continue
        fields = []  # (name, kind, default, options)
        submits = []
        multipart = (form.get("enctype") or "").startswith("multipart")
        for el in form.iter("input", "select", "textarea", "button"):
            name = el.get("name")
            if not name:
                continue
            tag = el.tag
            if tag == "button" or (tag == "input" and (el.get("type") or "text").lower() in ("submit", "image")):
                submits.append((name, el.get("value") or "y"))
                continue
            if tag == "select":
                options = [o.get("value") if o.get("value") is not None else (o.text or "") for o in el.iter("option")]
                selected = [o.get("value") for o in el.iter("option") if o.get("selected") is not None]
                non_empty = [o for o in options if o]
                default = selected[0] if selected else (non_empty[0] if non_empty else "")
                fields.append((name, "select", default, options))
            elif tag == "textarea":
                fields.append((name, "textarea", el.text or "Tekst uzasadnienia na tyle długi, by przejść minimalną długość pola.", None))
            else:
                kind = (el.get("type") or "text").lower()
                value = el.get("value")
                if kind in ("checkbox", "radio"):
                    if kind == "radio" and any(f[0] == name for f in fields):
                        continue
                    fields.append((name, kind, value or "y", None))
                elif kind == "file":
                    fields.append((name, "file", None, None))
                    multipart = True
                else:
                    if not value:
                        value = {"date": "2026-12-01", "datetime-local": "2026-12-01T10:00", "number": "1",
                                 "email": "fuzz@example.pl", "time": "10:00", "url": "https://example.pl/",
                                 "password": "correct-horse-battery", "hidden": ""}.get(kind, "Tekst")
                    fields.append((name, kind, value, None))
        forms.append({"action": action, "fields": fields, "submits": submits, "multipart": multipart, "page": page_path})
    return forms


PDF = b"%PDF-1.4\n% test\n%%EOF\n"


def baseline(form, submit=None):
    data = MultiDict()
    for name, kind, default, _ in form["fields"]:
        if kind == "file":
            continue
        data.add(name, default)
    if submit is None and form["submits"]:
        submit = form["submits"][0]
    if submit:
        data.add(*submit)
    return data


class Recorder:
    def __init__(self):
        self.findings = defaultdict(list)
        self.count = 0

    def send(self, client, method, path, where, **kw):
        self.count += 1
        try:
            response = client.open(path, method=method, **kw)
        except Exception as error:  # noqa: BLE001
            tb = traceback.format_exc()
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001
                pass
            key = f"EXC {type(error).__name__}: {str(error)[:200]}"
            self.findings[key].append((where, tb[-3000:]))
            return None
        text = response.get_data().decode("utf-8", "replace")
        if response.status_code >= 500:
            self.findings[f"STATUS {response.status_code} {path.split('?')[0]}"].append((where, text[:500]))
        if "Traceback (most recent" in text:
            self.findings[f"TRACEBACK {path}"].append((where, text[:500]))
        if SCRIPT in text and "html" in (response.content_type or ""):
            self.findings[f"XSS {path.split('?')[0]}"].append((where, text[text.find(SCRIPT) - 200:text.find(SCRIPT) + 50]))
        if SSTI_OUT in text:
            self.findings[f"SSTI {path.split('?')[0]}"].append((where, text[text.find(SSTI_OUT) - 200:text.find(SSTI_OUT) + 50]))
        return response


@pytest.fixture
def probe_world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    limiter.enabled = False
    a = _institution_world("A", qualification, "SESJA-A-JAWNA")
    a[ADMIN] = make_user(Role.ADMIN)
    yield a
    limiter.enabled = True


def test_probe_crawl_and_fuzz(app, probe_world):
    os.makedirs(OUT, exist_ok=True)
    w = probe_world
    roles = (STAFF, CHILD_STAFF, OPERATOR, ASSESSOR, APPEALS, CANDIDATE, ADMIN, AUDITOR, ANON)
    clients = {ANON: client_as(app)}
    for role in roles:
        if role != ANON:
            clients[role] = client_as(app, w[role])
    rec = Recorder()
    forms = {}
    pages = []
    for rule in walked_rules(app):
        if "GET" not in methods_of(rule):
            continue
        try:
            path = rule.build(url_values(rule, w))[1]
        except Exception as error:  # noqa: BLE001
            print("no url", rule.endpoint, error)
            continue
        for role in roles:
            response = rec.send(clients[role], "GET", path, f"GET {path} as {role}")
            if response is None or response.status_code != 200 or "html" not in response.content_type:
                continue
            pages.append((role, path))
            for form in parse_forms(response.get_data(as_text=True), path):
                key = (role, form["action"], tuple(sorted(f[0] for f in form["fields"])))
                forms.setdefault(key, form)
    print("pages", len(pages), "forms", len(forms))
    order = sorted(forms.items(), key=lambda kv: (any(d in kv[0][1] for d in DESTRUCTIVE), kv[0][1], kv[0][0]))
    with open(f"{OUT}/forms.txt", "w") as fh:
        for (role, action, names), form in order:
            fh.write(f"{role} {action} {names} submits={form['submits']} page={form['page']}\n")
    for (role, action, names), form in order:
        if any(d in action for d in ("logout", "two-factor/off", "/lang/")):
            continue
        client = clients[role]
        base = baseline(form)
        # Baseline, then every submit button alone.
        for submit in form["submits"] or [None]:
            rec.send(client, "POST", action, f"POST {action} as {role} baseline submit={submit}", data=baseline(form, submit))
        for name, kind, default, _ in form["fields"]:
            if kind == "file":
                continue
            for label, value in HOSTILE.items():
                data = MultiDict([(k, v) for k, v in base.items(multi=True) if k != name])
                data.add(name, value)
                rec.send(client, "POST", action, f"POST {action} as {role} {name}={label}", data=data)
            # missing
            data = MultiDict([(k, v) for k, v in base.items(multi=True) if k != name])
            rec.send(client, "POST", action, f"POST {action} as {role} {name}=MISSING", data=data)
            # repeated
            data = MultiDict([(k, v) for k, v in base.items(multi=True)] + [(name, "evil-second")])
            rec.send(client, "POST", action, f"POST {action} as {role} {name}=REPEATED", data=data)
            data = MultiDict([(k, v) for k, v in base.items(multi=True) if k != name] + [(name, "evil-first"), (name, default or "")])
            rec.send(client, "POST", action, f"POST {action} as {role} {name}=REPEATED-first-bad", data=data)
            # a file where text is expected
            data = MultiDict([(k, v) for k, v in base.items(multi=True) if k != name])
            data.add(name, (io.BytesIO(b"hello"), "x.txt"))
            rec.send(client, "POST", action, f"POST {action} as {role} {name}=FILE", data=data)
        # invalid UTF-8 in every field at once, urlencoded raw
        from urllib.parse import quote
        body = "&".join(f"{quote(k)}=%FF%FE%C3{quote(v)}" for k, v in base.items(multi=True))
        rec.send(client, "POST", action, f"POST {action} as {role} INVALID-UTF8 body",
                 data=body, content_type="application/x-www-form-urlencoded")
        rec.send(client, "POST", action + ("&" if "?" in action else "?") + "x=%FF%FE&next=%FF",
                 f"POST {action} as {role} INVALID-UTF8 query", data=base)
        # text/plain body, empty body
        rec.send(client, "POST", action, f"POST {action} as {role} text/plain", data="a=b", content_type="text/plain")
        rec.send(client, "POST", action, f"POST {action} as {role} no body", data=b"", content_type="")
        # file fields: hostile uploads
        for name, kind, default, _ in form["fields"]:
            if kind != "file":
                continue
            for label, (content, filename) in {
                "empty": (b"", "a.pdf"), "traversal": (PDF, "../../etc/passwd.pdf"),
                "winpath": (PDF, "C:\\Windows\\..\\evil.pdf"), "nulname": (PDF, "a\x00.pdf"),
                "longname": (PDF, "x" * 5000 + ".pdf"), "rtl": (PDF, "\u202egpj.pdf"), "html": (b"<html><script>x</script>", "a.pdf"),
                "exe": (b"MZ\x90\x00", "a.exe"), "dotonly": (PDF, "..."), "nofilename": (PDF, ""),
                "unicode": (PDF, "za\u017c\u00f3\u0142\u0107 \U0001F642.pdf"), "script": (PDF, SCRIPT + ".pdf"),
            }.items():
                data = MultiDict(base.items(multi=True))
                data.add(name, (io.BytesIO(content), filename))
                rec.send(client, "POST", action, f"POST {action} as {role} file {name}={label}", data=data,
                         content_type="multipart/form-data")
    # After fuzzing: every page again, as every role (stored XSS / SSTI / broken pages).
    for role, path in pages:
        rec.send(clients[role], "GET", path, f"RE-GET {path} as {role}")
    # Mails
    for mail in db.session.query(OutboxMail).all():
        body = (mail.body or "") + (mail.subject or "")
        if SSTI_OUT in body:
            rec.findings["SSTI mail"].append((mail.subject, body[:500]))
    print("requests", rec.count)
    with open(f"{OUT}/findings.txt", "w") as fh:
        for key, items in sorted(rec.findings.items()):
            fh.write(f"=== {key} ({len(items)})\n")
            for where, detail in items[:3]:
                fh.write(f"--- {where}\n{detail}\n")
    from tests import commit_guard
    commit_guard.take()
    print("\n".join(f"{k} ({len(v)})" for k, v in sorted(rec.findings.items())))
