"""A NUL byte in any sandbox form or query is refused with a clear 400, never stored or a 500."""
from sqlalchemy import func, select

from sandbox_crm.models import ActionStatement


def test_nul_in_a_form_is_refused(workspace, login_as, sandbox_session):
    client = login_as("user:1")
    before = sandbox_session.scalar(select(func.count()).select_from(ActionStatement))
    response = client.post(f"/sandbox/w/{workspace.id}/companies/new", data={"name": "Firma\x00X"})
    assert response.status_code == 400
    assert sandbox_session.scalar(select(func.count()).select_from(ActionStatement)) == before


def test_nul_in_a_query_is_refused(workspace, login_as):
    client = login_as("user:1")
    assert client.get(f"/sandbox/w/{workspace.id}/companies?q=a%00b").status_code == 400
