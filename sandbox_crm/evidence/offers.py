"""Evidence checks of 2.2.a–d: offer template, merge tags, an offer generated from database
records for a chosen recipient, sent and recorded in the customer's history."""
from __future__ import annotations

from sqlalchemy import select

from ..host import session
from ..models import ActionStatement, CustomerEvent, Offer, OfferTemplate, OutboxMessage, Workspace
from ..services import templating
from ..services.offers import used_tags
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    existing,
    ids_of,
    object_id_of,
    record_row,
    result,
    statement_rows,
)


def _candidate_templates(workspace: Workspace) -> tuple[list[OfferTemplate], list[ActionStatement]]:
    statements = candidate_statements(workspace, ["create", "update"], ["offer_template"])
    return existing(workspace, OfferTemplate, ids_of(statements)), statements


@check("2.2.a")
def offer_template_prepared(workspace: Workspace) -> CheckResult:
    """Met when an offer template the candidate created or edited exists.

    Templates created or edited but deleted since: can't tell. None (a scenario's ready
    templates do not count): not met.
    """
    templates, statements = _candidate_templates(workspace)
    if templates:
        return result("2.2.a", Verdict.MET, f"The candidate prepared {len(templates)} offer template(s).",
                      [record_row(workspace, f"Offer template: {t.name}", "offer_template", t.id) for t in templates],
                      statement_rows(workspace, statements))
    if statements:
        return result("2.2.a", Verdict.CANT_TELL,
                      "The candidate worked on offer templates, but none of them exists any more.",
                      statement_rows(workspace, statements))
    return result("2.2.a", Verdict.NOT_MET, "The candidate prepared no offer template.")


@check("2.2.b")
def merge_tags_used(workspace: Workspace) -> CheckResult:
    """Met when a template the candidate created or edited uses at least one merge tag (customer,
    contact, lines, totals …) and renders without problems with the sandbox's sample data.

    Tags used but the template does not render: can't tell. The candidate's templates have no
    merge tags, or there are none: not met.
    """
    templates, statements = _candidate_templates(workspace)
    rendering: list[tuple[OfferTemplate, list[str]]] = []
    broken: list[tuple[OfferTemplate, list[str]]] = []
    for template in templates:
        tags = used_tags(template.body)
        if tags:
            ok = templating.render_template(template.body, templating.sample_context()).ok
            (rendering if ok else broken).append((template, tags))

    def rows(items: list[tuple[OfferTemplate, list[str]]]) -> list[EvidenceRow]:
        return [record_row(workspace, f"Offer template: {t.name} — tags: {', '.join(tags)}", "offer_template", t.id)
                for t, tags in items]

    if rendering:
        return result("2.2.b", Verdict.MET,
                      f"The candidate's template(s) use merge tags that render: "
                      f"{', '.join(sorted({tag for _t, tags in rendering for tag in tags}))}.",
                      rows(rendering), statement_rows(workspace, statements))
    if broken:
        return result("2.2.b", Verdict.CANT_TELL,
                      "The candidate's templates use merge tags but do not render with sample data.",
                      rows(broken), statement_rows(workspace, statements))
    return result("2.2.b", Verdict.NOT_MET, "No template of the candidate uses merge tags.")


def _offer_row(workspace: Workspace, offer: Offer, note: str = "") -> EvidenceRow:
    recipient = offer.recipient_name or ""
    return record_row(workspace, f"Offer {offer.number}: {offer.title}" + (f" for {recipient}" if recipient else "")
                      + (f" ({note})" if note else ""), "offer", offer.id)


@check("2.2.c")
def offer_generated(workspace: Workspace) -> CheckResult:
    """Met when the candidate generated an offer (``generate offer``) that is now a PDF built
    from database records for a chosen recipient: a company, at least one line, a stored PDF.

    Generated but since changed back to a draft or deleted: can't tell. Never generated: not met.
    """
    statements = candidate_statements(workspace, ["generate"], ["offer"])
    offers = existing(workspace, Offer, ids_of(statements))
    generated = [o for o in offers if o.pdf_sha256 and o.company_id is not None and o.lines]
    if generated:
        return result("2.2.c", Verdict.MET,
                      f"The candidate generated {len(generated)} offer PDF(s) for chosen recipients.",
                      [_offer_row(workspace, o, "PDF") for o in generated],
                      [record_row(workspace, f"Offer PDF {o.number}", "offer", o.id, "sandbox.offer_pdf",
                                  offer_id=o.id) for o in generated],
                      statement_rows(workspace, statements))
    if statements:
        return result("2.2.c", Verdict.CANT_TELL,
                      "The candidate generated offers, but none has its PDF now (changed or deleted since).",
                      [_offer_row(workspace, o, o.status) for o in offers], statement_rows(workspace, statements))
    return result("2.2.c", Verdict.NOT_MET, "The candidate generated no offer.")


@check("2.2.d")
def offer_sent_and_recorded(workspace: Workspace) -> CheckResult:
    """Met when the candidate sent an offer (``send offer``): the outbox holds the message with
    the offer attached and the customer's history holds the ``offer_sent`` entry.

    Sent but the message or the history entry is missing now: can't tell. Nothing sent: not met.
    """
    statements = candidate_statements(workspace, ["send"], ["offer"])
    if not statements:
        return result("2.2.d", Verdict.NOT_MET, "The candidate sent no offer.")
    db = session()
    offer_ids = ids_of(statements)
    message_ids: list[int] = [s.result["outbox_message_id"] for s in statements
                              if s.result and isinstance(s.result.get("outbox_message_id"), int)]
    messages = {m.id: m for m in existing(workspace, OutboxMessage, message_ids)}
    events = list(db.scalars(select(CustomerEvent).where(
        CustomerEvent.workspace_id == workspace.id, CustomerEvent.kind == "offer_sent",
        CustomerEvent.object_type == "offer", CustomerEvent.object_id.in_([str(i) for i in offer_ids]))))
    event_offers = {int(e.object_id) for e in events if e.object_id is not None}  # (none is: see the query)
    complete = [s for s in statements
                if object_id_of(s) in event_offers
                and (s.result or {}).get("outbox_message_id") in messages]
    message_rows = [record_row(workspace, f"Outbox: {m.subject} → {m.to_address}", "outbox_message", m.id)
                    for m in messages.values()]
    event_rows = [record_row(workspace, f"Customer history: {e.summary}", "customer_event", e.id,
                             "sandbox.company" if e.company_id else "sandbox.contact",
                             **({"company_id": e.company_id} if e.company_id else {"contact_id": e.contact_id}))
                  for e in events if e.company_id or e.contact_id]
    if complete:
        return result("2.2.d", Verdict.MET,
                      f"The candidate sent {len(complete)} offer(s); each is in the outbox and in the "
                      "customer's history.",
                      statement_rows(workspace, complete), message_rows, event_rows)
    return result("2.2.d", Verdict.CANT_TELL,
                  "The candidate sent offers, but the outbox message or the customer history entry is missing.",
                  statement_rows(workspace, statements), message_rows, event_rows)
