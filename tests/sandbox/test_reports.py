"""The report engine and the report builder pages."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from sandbox_crm.api import action_log, create_workspace, freeze_workspace
from sandbox_crm.models import SavedReport
from sandbox_crm.services import reports as service

SEED = {
    "companies": [
        {"key": "a", "name": "=HYPERLINK(\"http://x\")", "industry": "IT", "region": "mazowieckie", "size": "small"},
        {"key": "b", "name": "Beta", "industry": "IT", "region": "pomorskie", "size": "large"},
        {"key": "c", "name": "Gamma Łódź", "industry": "Handel", "region": "łódzkie", "size": "small"},
    ],
    "pipelines": [{"name": "B2B", "stages": [
        {"name": "Kwalifikacja", "probability": 10}, {"name": "Oferta", "probability": 50},
        {"name": "Negocjacje", "probability": 80}]}],
    "opportunities": [
        {"name": "O1", "company": "a", "stage": "Kwalifikacja", "value": "1000", "expected_close_date": "2025-01-15",
         "owner_name": "Ala"},
        {"name": "O2", "company": "a", "stage": "Oferta", "value": "2000", "expected_close_date": "2025-01-20",
         "owner_name": "Ala"},
        {"name": "O3", "company": "b", "stage": "Oferta", "value": "3000", "expected_close_date": "2025-02-10",
         "owner_name": "Olek"},
        {"name": "O4", "company": "c", "stage": "Negocjacje", "value": "4000", "expected_close_date": "2025-02-11",
         "owner_name": "Olek"},
        {"name": "O5", "company": "c", "stage": "Negocjacje", "value": "500.50", "expected_close_date": "2025-03-01",
         "status": "won"},
    ],
    "tasks": [
        {"title": "Call", "company": "a", "priority": "high", "due_date": "2025-01-10"},
        {"title": "Mail", "company": "b", "priority": "low", "due_date": "2025-01-11", "status": "done",
         "percent_complete": 100},
    ],
}


@pytest.fixture(autouse=True)
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


@pytest.fixture
def ws(sandbox_session):
    workspace = create_workspace("Reports", "user:1", seed=SEED)
    sandbox_session.commit()
    return workspace


def run(ws, log=True, **args):
    return service.run_report(ws, service.parse_config(args), log=log)


def table(result):
    return {row.label: row.values for row in result.rows}


def test_group_by_stage_in_pipeline_order_with_sum_count_weighted(ws):
    result = run(ws, source="opportunities", group_by="stage", measure="sum_value")
    assert [row.label for row in result.rows] == ["Kwalifikacja", "Oferta", "Negocjacje"]
    assert table(result) == {"Kwalifikacja": [Decimal("1000")], "Oferta": [Decimal("5000")],
                             "Negocjacje": [Decimal("4500.50")]}
    assert result.totals == [Decimal("10500.50")]
    count = run(ws, source="opportunities", group_by="stage", measure="count")
    assert table(count) == {"Kwalifikacja": [1], "Oferta": [2], "Negocjacje": [2]}
    weighted = run(ws, source="opportunities", group_by="stage", measure="weighted_value")
    assert table(weighted) == {"Kwalifikacja": [Decimal("100.00")], "Oferta": [Decimal("2500.00")],
                               "Negocjacje": [Decimal("3600.40")]}
    average = run(ws, source="opportunities", group_by="industry", measure="avg_value")
    assert table(average) == {"Handel": [Decimal("2250.25")], "IT": [Decimal("2000.00")]}
    assert average.totals == []


def test_filters_and_date_range(ws):
    result = run(ws, source="opportunities", group_by="industry", measure="sum_value", f_status="open",
                 date_field="expected_close_date", date_from="2025-01-01", date_to="2025-01-31")
    assert table(result) == {"IT": [Decimal("3000")]}
    by_owner = run(ws, source="opportunities", group_by="owner", measure="count", f_owner="Olek")
    assert table(by_owner) == {"Olek": [2]}
    statements = [s for s in action_log(ws.id) if s.object_type == "report"]
    assert [s.verb for s in statements] == ["filter", "generate", "filter", "generate"]
    assert statements[0].result["filters"] == {"status": "open"}
    assert statements[1].result["config"]["date_from"] == "2025-01-01"


def test_month_grouping(ws):
    result = run(ws, source="opportunities", group_by="month", measure="count")
    assert table(result) == {"2025-01": [2], "2025-02": [2], "2025-03": [1]}


def test_compare_two_periods(ws):
    result = run(ws, source="opportunities", group_by="industry", measure="sum_value", compare="periods",
                 date_from="2025-01-01", date_to="2025-01-31", b_from="2025-02-01", b_to="2025-02-28")
    assert result.series == ["2025-01-01 – 2025-01-31", "2025-02-01 – 2025-02-28"]
    assert table(result) == {"IT": [Decimal("3000"), Decimal("3000")], "Handel": [Decimal("0"), Decimal("4000")]}
    it_row = next(row for row in result.rows if row.label == "IT")
    assert result.change(it_row) == (Decimal("0"), Decimal("0.0"))
    handel = next(row for row in result.rows if row.label == "Handel")
    assert result.change(handel) == (Decimal("4000"), None)


def test_compare_two_segments_side_by_side(ws):
    result = run(ws, source="opportunities", group_by="stage", measure="count", compare="values",
                 cmp_field="industry", cmp_a="IT", cmp_b="Handel")
    assert result.series == ["IT", "Handel"]
    assert table(result) == {"Kwalifikacja": [1, 0], "Oferta": [2, 0], "Negocjacje": [0, 2]}


@pytest.mark.parametrize("args, field", [
    ({"source": "nope"}, "source"),
    ({"group_by": "colour"}, "group_by"),
    ({"measure": "sum_value", "source": "contacts"}, "measure"),
    ({"chart": "radar"}, "chart"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "date_to"),
    ({"compare": "periods"}, "b_from"),
    ({"compare": "values", "cmp_field": "industry", "cmp_a": "IT", "cmp_b": "IT"}, "cmp_b"),
    ({"f_stage": "abc"}, "f_stage"),
])
def test_bad_configuration_names_the_field(args, field):
    with pytest.raises(service.ReportError) as err:
        service.parse_config(args)
    assert field in err.value.errors


@pytest.mark.parametrize("chart", ["bar", "line", "pie", "funnel"])
def test_every_chart_kind_renders_svg(ws, chart):
    result = run(ws, source="opportunities", group_by="stage", measure="sum_value", chart=chart)
    svg = service.render_chart(result)
    assert svg.startswith("<svg") and "Kwalifikacja" in svg
    assert "<script" not in svg  # no pygal JavaScript: inline-safe, identical in the PDF


def test_every_source_and_grouping_runs(ws):
    for source in service.DATA_SOURCES.values():
        for group in source.dimensions:
            for measure in source.measures:
                result = run(ws, log=False, source=source.key, group_by=group, measure=measure, chart="bar")
                assert result.rows is not None
    tasks = run(ws, source="tasks", group_by="priority", measure="count")
    assert table(tasks) == {"High": [1], "Low": [1]}


def test_table_has_no_chart_and_labels_are_escaped_in_svg(ws):
    assert service.render_chart(run(ws, source="companies", group_by="industry", measure="count")) is None
    svg = service.render_chart(run(ws, source="opportunities", group_by="company", measure="count", chart="bar"))
    assert 'HYPERLINK(&quot;' in svg or "HYPERLINK(\"http" in svg
    assert "<script" not in svg


def test_csv_is_excel_friendly_and_formula_safe(ws):
    result = run(ws, source="opportunities", group_by="company", measure="sum_value")
    data = service.export_csv(result)
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Company", "Total value"]
    labels = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in labels and "Gamma Łódź" in labels
    assert ["Gamma Łódź", "4500,50"] in rows
    assert rows[-1] == ["Total", "10500,50"]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("text, expected", [("=1+1", "'=1+1"), ("+48", "'+48"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
                                            ("Zwykły", "Zwykły"), (None, "")])
def test_safe_cell(text, expected):
    assert service.safe_cell(text) == expected


def test_pdf_export_contains_title_criteria_and_table(ws):
    result = run(ws, source="opportunities", group_by="stage", measure="sum_value", chart="bar", f_status="open",
                 title="Lejek Łódź")
    pdf = service.export_pdf(result)
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Lejek Łódź" in text and "Kwalifikacja" in text and "Open" in text


def test_save_and_delete_report(ws, sandbox_session):
    config = service.parse_config({"source": "tasks", "group_by": "status", "chart": "pie"})
    saved = service.save_report(ws, "Zadania", config)
    again = service.save_report(ws, "Zadania", {**config, "chart": "bar"})
    assert again.id == saved.id and again.config["chart"] == "bar"
    with pytest.raises(service.ReportError):
        service.save_report(ws, "", config)
    service.delete_saved_report(ws, saved)
    verbs = [s.verb for s in action_log(ws.id) if s.object_type == "saved_report"]
    assert verbs == ["create", "update", "delete"]


def test_report_aggregates_in_sql_for_many_rows(ws, sandbox_session):
    from sandbox_crm.models import Opportunity

    template = sandbox_session.query(Opportunity).filter_by(workspace_id=ws.id).first()
    sandbox_session.add_all([Opportunity(workspace_id=ws.id, name=f"Bulk {i}", company_id=template.company_id,
                                         pipeline_id=template.pipeline_id, stage_id=template.stage_id,
                                         value=Decimal("1.00")) for i in range(3000)])
    sandbox_session.flush()
    result = run(ws, source="opportunities", group_by="stage", measure="count")
    assert sum(row.values[0] for row in result.rows) == 3005


# --------------------------------------------------------------------------- pages


def test_builder_page_runs_exports_and_saves(ws, login_as, sandbox_session):
    client = login_as("user:1")
    base = f"/sandbox/w/{ws.id}/reports"
    page = client.get(base)
    assert page.status_code == 200 and "Generate report" in page.get_data(as_text=True)
    query = "?run=1&source=opportunities&group_by=stage&measure=sum_value&chart=funnel&f_status=open"
    ran = client.get(base + query)
    html = ran.get_data(as_text=True)
    assert ran.status_code == 200 and "<svg" in html and "Kwalifikacja" in html
    csv_response = client.get(f"{base}/export.csv" + query)
    assert csv_response.status_code == 200 and csv_response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    pdf_response = client.get(f"{base}/export.pdf" + query)
    assert pdf_response.data.startswith(b"%PDF")
    printed = client.get(f"{base}/print" + query)
    assert printed.status_code == 200 and "<svg" in printed.get_data(as_text=True)
    config = service.parse_config({"source": "opportunities", "group_by": "stage", "chart": "funnel"})
    import json

    saved = client.post(f"{base}/save", data={"name": "Lejek", "config": json.dumps(config)})
    assert saved.status_code == 302
    report = sandbox_session.query(SavedReport).filter_by(workspace_id=ws.id, name="Lejek").one()
    opened = client.get(f"{base}/saved/{report.id}")
    assert opened.status_code == 302 and "chart=funnel" in opened.headers["Location"]
    exports = [s.result["format"] for s in action_log(ws.id) if s.verb == "export"]
    assert exports == ["csv", "pdf", "print"]
    bad_save = client.post(f"{base}/save", data={"name": "X", "config": "not json"})
    assert bad_save.status_code == 302


def test_builder_shows_errors_next_to_fields(ws, login_as):
    client = login_as("user:1")
    response = client.get(f"/sandbox/w/{ws.id}/reports?run=1&source=opportunities&date_from=31.12.2025&group_by=x")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="date_from-error"' in html and 'id="group_by-error"' in html and 'value="31.12.2025"' in html


def test_report_isolation_and_frozen(ws, login_as, sandbox_session):
    config = service.parse_config({"source": "tasks"})
    report = service.save_report(ws, "Mine", config)
    other = create_workspace("Other", "user:1")
    sandbox_session.commit()
    client = login_as("user:1")
    assert client.get(f"/sandbox/w/{other.id}/reports/saved/{report.id}").status_code == 404
    assert client.post(f"/sandbox/w/{other.id}/reports/saved/{report.id}/delete").status_code == 404
    assert login_as("user:2").get(f"/sandbox/w/{ws.id}/reports").status_code == 404
    freeze_workspace(ws.id)
    sandbox_session.commit()
    before = len(action_log(ws.id))
    assert client.post(f"/sandbox/w/{ws.id}/reports/save", data={"name": "X", "config": "{}"}).status_code == 403
    assert client.get(f"/sandbox/w/{ws.id}/reports?run=1&source=tasks").status_code == 200
    assert client.get(f"/sandbox/w/{ws.id}/reports/export.csv?source=tasks").status_code == 200
    assert len(action_log(ws.id)) == before
