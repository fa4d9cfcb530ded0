"""The action log page (timeline, filters, pagination) and its xAPI JSON download."""
import json
from datetime import date, timedelta

import pytest
from customers_helpers import company, statements

import sandbox_crm
from sandbox_crm.api import freeze_workspace
from sandbox_crm.services import activity


@pytest.fixture
def logged(sandbox_app, workspace):
    with sandbox_app.test_request_context():
        rows = [company(workspace, name=f"Firma {i}") for i in range(3)]
        from sandbox_crm.services.customers import update_company

        update_company(workspace, rows[0], {"city": "Kraków"})
        sandbox_crm.session().commit()
    return workspace


def test_timeline_shows_statements_with_diff_and_links(login_as, logged):
    page = login_as("user:1").get(f"/sandbox/w/{logged.id}/log").get_data(as_text=True)
    assert "4 actions" in page and "Kraków" in page and 'class="diff"' in page
    assert f"/sandbox/w/{logged.id}/companies/" in page


def test_filters_narrow_the_timeline_and_are_recorded(login_as, logged):
    client = login_as("user:1")
    page = client.get(f"/sandbox/w/{logged.id}/log?verb=update").get_data(as_text=True)
    assert "1 actions" in page
    [recorded] = statements(logged, "filter", "action_log")
    assert recorded.result == {"filters": {"verb": "update"}, "count": 1}
    today = date.today()
    future = (today + timedelta(days=2)).isoformat()
    assert "0 actions" in client.get(f"/sandbox/w/{logged.id}/log?date_from={future}").get_data(as_text=True)
    # a range around today (UTC may be a day apart from the local date)
    around = f"date_from={(today - timedelta(days=1)).isoformat()}&date_to={(today + timedelta(days=1)).isoformat()}"
    assert "actions" in client.get(f"/sandbox/w/{logged.id}/log?{around}&object_type=company").get_data(as_text=True)
    bad = client.get(f"/sandbox/w/{logged.id}/log?date_from=31.02.2025&page=zzz")
    assert bad.status_code == 200 and "Enter a date as YYYY-MM-DD." in bad.get_data(as_text=True)


def test_pagination(login_as, sandbox_app, workspace):
    with sandbox_app.test_request_context():
        for i in range(activity.PER_PAGE + 5):
            company(workspace, name=f"F{i:03d}")
        sandbox_crm.session().commit()
    client = login_as("user:1")
    second = client.get(f"/sandbox/w/{workspace.id}/log?page=2").get_data(as_text=True)
    assert ">F000<" in second and ">F054<" not in second
    assert "rel=\"prev\"" in second


def test_xapi_download_is_json_and_recorded(login_as, logged):
    response = login_as("user:1").get(f"/sandbox/w/{logged.id}/log/xapi.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = json.loads(response.get_data(as_text=True))
    assert len(body) == 4
    assert body[0]["verb"]["id"].endswith("/create") and body[0]["actor"]["account"]["name"] == "system"
    assert {"actor", "verb", "object", "timestamp"} <= set(body[-1])
    [export] = statements(logged, "export", "action_log")
    assert export.result["statements"] == 4 and export.result["format"] == "xapi-json"


def test_xapi_download_can_be_filtered(login_as, logged):
    body = login_as("user:1").get(f"/sandbox/w/{logged.id}/log/xapi.json?verb=update").get_json()
    assert [s["verb"]["display"]["en-US"] for s in body] == ["update"]


def test_frozen_workspace_log_is_readable_but_gets_no_new_entries(login_as, logged, sandbox_app):
    with sandbox_app.test_request_context():
        freeze_workspace(logged.id)
        sandbox_crm.session().commit()
    before = len(statements(logged))
    client = login_as("user:1")
    assert client.get(f"/sandbox/w/{logged.id}/log?verb=create").status_code == 200
    assert client.get(f"/sandbox/w/{logged.id}/log/xapi.json").status_code == 200
    assert len(statements(logged)) == before


def test_log_of_another_workspace_is_not_reachable(login_as, logged):
    intruder = login_as("user:2")
    assert intruder.get(f"/sandbox/w/{logged.id}/log").status_code == 404
    assert intruder.get(f"/sandbox/w/{logged.id}/log/xapi.json").status_code == 404
