"""The sandbox shows times in the local (Polish) time zone, like the portal around it."""
from datetime import UTC, datetime

from sandbox_crm.models import ActionStatement


def test_action_log_and_frozen_banner_show_local_time(workspace, login_as, sandbox_session):
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 in Warsaw (CET)
    sandbox_session.add(ActionStatement(workspace_id=workspace.id, actor_ref="user:1", actor_name="User",
                                        verb="create", object_type="company", object_id="1", timestamp=at))
    workspace.frozen_at = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)  # 10:30 in Warsaw (CEST)
    sandbox_session.commit()
    client = login_as("user:1")
    log = client.get(f"/sandbox/w/{workspace.id}/log").get_data(as_text=True)
    assert "13:00" in log and "12:00" not in log
    dashboard = client.get(f"/sandbox/w/{workspace.id}/").get_data(as_text=True)
    assert "10:30" in dashboard and "08:30" not in dashboard
