"""When the database goes away: a page that renders without it, and JSON for the scripts.

The app here is built on a PostgreSQL address where nothing listens, so every query fails as it
would when the database server stops: the user loader, the language choice and the view itself.
"""
import pytest
from flask_login.utils import _create_identifier

DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2"


@pytest.fixture
def dead(app_factory):
    app = app_factory(SQLALCHEMY_DATABASE_URI=DEAD_DATABASE, PROPAGATE_EXCEPTIONS=False, TESTING=False)
    client = app.test_client()
    browser = {"REMOTE_ADDR": "127.0.0.9", "HTTP_USER_AGENT": "Mozilla/5.0 (test)"}
    client.environ_base.update(browser)
    with app.test_request_context(environ_base=browser):
        identifier = _create_identifier()  # Flask-Login's "strong" session protection checks it
    with client.session_transaction() as session:
        session.update({"_user_id": "1", "_fresh": True, "_id": identifier})  # a logged-in browser
    return client


def test_pages_show_a_503_page_that_needs_no_database(dead):
    for path in ("/dashboard", "/sessions/mine", "/committee/result/1"):
        response = dead.get(path)
        assert response.status_code == 503, path
        body = response.get_data(as_text=True)
        assert "Nothing you typed is lost" in body or "spróbuj ponownie" in body, path
        assert "Traceback" not in body and "psycopg" not in body


def test_the_autosave_gets_json_it_understands_and_keeps_the_answer(dead):
    response = dead.post("/theory/attempts/1/answer", data={"position": "1", "seq": "3", "answer": "x"},
                         headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.is_json and response.get_json()["retry"] is True and response.get_json()["error"]


def test_an_anonymous_visitor_gets_the_page_too(app_factory):
    app = app_factory(SQLALCHEMY_DATABASE_URI=DEAD_DATABASE, PROPAGATE_EXCEPTIONS=False, TESTING=False)
    response = app.test_client().post("/auth/login", data={"email": "a@example.pl", "password": "x"})
    assert response.status_code == 503 and "<html" in response.get_data(as_text=True)
