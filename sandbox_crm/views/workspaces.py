"""Workspace home (dashboard) and the workspace chrome every page gets."""
from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import models
from ..blueprint import bp
from ..coaching import coaching_allowed
from ..host import host, session
from ..params import current_query
from ..registry import NAV, register_nav
from ..services import activity

register_nav("sandbox.dashboard", _l("Dashboard"), 0)


@bp.context_processor
def sandbox_chrome() -> dict:
    """What ``sandbox_crm/base.html`` needs: the host's layout, the menu, the workspace and write access."""
    workspace = g.get("workspace")
    can_write = bool(workspace is not None and not workspace.is_frozen and host().can_access(workspace, True))
    return {"sandbox_layout": host().layout_template, "sandbox_nav": NAV, "workspace": workspace,
            "can_write": can_write, "nav_active": active_nav(request.endpoint or ""), "page_url": page_url}


def _tokens(endpoint: str) -> list[str]:
    """``sandbox.offer_templates`` → ["offer", "template"]: words, singular, for matching areas."""
    def singular(word: str) -> str:
        if word.endswith("ies"):
            return word[:-3] + "y"
        return word[:-1] if word.endswith("s") else word

    return [singular(word) for word in endpoint.partition(".")[2].split("_") if word]


def active_nav(endpoint: str) -> str | None:
    """The menu entry the current page belongs to: most leading words in common, the shorter entry on a tie.

    ``offer_send`` belongs to "offers" (1 word, shorter) rather than "offer_templates" (also 1);
    ``offer_template_edit`` to "offer_templates" (2 words).
    """
    current = _tokens(endpoint)
    best, best_key = None, (0, 0)
    for entry in NAV:
        words = _tokens(entry.endpoint)
        common = 0
        for a, b in zip(current, words, strict=False):
            if a != b:
                break
            common += 1
        key = (common, -len(words))
        if common and key > best_key:
            best, best_key = entry.endpoint, key
    if best is None:  # e.g. "saved_report" belongs to "reports"
        best = next((entry.endpoint for entry in NAV if _tokens(entry.endpoint)[0] in current), None)
    return best


def page_url(number: int) -> str:
    """The current page's URL with its query string, at page ``number``."""
    endpoint = request.endpoint
    if endpoint is None:  # only outside a matched route, never on a paged list
        raise RuntimeError("page_url() needs the request's endpoint")
    return url_for(endpoint, **(request.view_args or {}), **current_query(page=number))


def _count(model_name: str, *conditions) -> int | None:
    """Rows of a model of this workspace, or ``None`` when that area is not installed."""
    model = getattr(models, model_name, None)
    if model is None:
        return None
    stmt = select(func.count()).select_from(model).where(model.workspace_id == g.workspace.id, *conditions)
    return session().scalar(stmt)


@bp.route("/w/<int:ws_id>/")
def dashboard():
    opportunity = getattr(models, "Opportunity", None)
    task = getattr(models, "Task", None)
    cards: list[tuple[str, Any, int | None, str | None]] = [
        ("companies", _l("Companies"), _count("Company"), "sandbox.companies"),
        ("contacts", _l("Contacts"), _count("Contact"), "sandbox.contacts"),
    ]
    if coaching_allowed(g.workspace):  # in an exam it would point at what 1.2.c checks
        cards.append(("no_basis", _l("Contacts without a legal basis"),
                      _count("Contact", models.Contact.legal_basis.is_(None)), "sandbox.contacts"))
    if opportunity is not None and hasattr(opportunity, "status"):
        cards.append(("opportunities", _l("Open opportunities"), _count("Opportunity", opportunity.status == "open"),
                      "sandbox.opportunities"))
    if task is not None and hasattr(task, "completed_at"):
        cards.append(("tasks", _l("Open tasks"), _count("Task", task.completed_at.is_(None)), "sandbox.tasks"))
    cards = [(key, label, value, endpoint if endpoint in current_app.view_functions else None)
             for key, label, value, endpoint in cards]
    return render_template("sandbox_crm/dashboard.html", cards=cards, recent=activity.recent(g.workspace),
                           statements=activity.count(g.workspace))
