"""Every sandbox page highlights the menu entry of its area."""
import pytest

import sandbox_crm.views  # noqa: F401  (registers the menu)
from sandbox_crm.views.workspaces import active_nav


@pytest.mark.parametrize("endpoint, entry", [
    ("sandbox.offers", "sandbox.offers"),
    ("sandbox.offer_send", "sandbox.offers"),
    ("sandbox.offer_pdf", "sandbox.offers"),
    ("sandbox.offer_template_edit", "sandbox.offer_templates"),
    ("sandbox.offer_templates", "sandbox.offer_templates"),
    ("sandbox.company", "sandbox.companies"),
    ("sandbox.contact_withdraw_consent", "sandbox.contacts"),
    ("sandbox.opportunity_move", "sandbox.opportunities"),
    ("sandbox.board", "sandbox.board"),
    ("sandbox.pipeline_schedule", "sandbox.pipelines"),
    ("sandbox.task_summary", "sandbox.tasks"),
    ("sandbox.saved_report", "sandbox.reports"),
    ("sandbox.outbox_message", "sandbox.outbox"),
    ("sandbox.import_preview", "sandbox.imports"),
    ("sandbox.action_log_xapi", "sandbox.action_log"),
    ("sandbox.segment_new", "sandbox.segments"),
    ("sandbox.product_edit", "sandbox.products"),
    ("sandbox.dashboard", "sandbox.dashboard"),
])
def test_active_menu_entry(endpoint, entry):
    assert active_nav(endpoint) == entry
