"""/healthz says the process is alive; /readyz says whether it can serve (database, Redis, job queue)
and, when it cannot, which one failed — without a stack trace, an address or a password."""
import pytest

from tests.web.test_database_down import DEAD_DATABASE

# Nothing listens on port 1: the connection is refused at once, as when the server is down.
DEAD_REDIS = "redis://:s3cret-redis-pass@127.0.0.1:1/0"
LIVE_REDIS = "redis://127.0.0.1:6379/11"  # only read (PING, the queue's length)


def _leaks(body: str) -> list[str]:
    return [word for word in ("Traceback", "s3cret", "127.0.0.1", "postgres", "psycopg", "redis://") if word in body]


def test_ready_on_the_test_setup(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    # The PostgreSQL run keeps its rate limits on Redis; the SQLite run has no Redis at all.
    redis = "ok" if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("redis") else "not configured"
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "redis": redis, "queue": "in-process"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_with_the_queue_and_rate_limits_on_redis(app_factory):
    app = app_factory(REDIS_URL=LIVE_REDIS, RATELIMIT_STORAGE_URI=LIVE_REDIS)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok", "queue": "ok"}


def test_database_unreachable_is_named_and_healthz_stays_alive(app_factory):
    app = app_factory(SQLALCHEMY_DATABASE_URI=DEAD_DATABASE, PROPAGATE_EXCEPTIONS=False, TESTING=False)
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert answer["status"] == "unavailable" and "database" in answer["reason"]
    assert answer["checks"]["database"].startswith("database unreachable")
    assert not _leaks(response.get_data(as_text=True))
    # Alive all the same: a liveness probe that failed here would restart every web process.
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(("setting", "role"), [("REDIS_URL", "job queue"), ("RATELIMIT_STORAGE_URI", "rate-limit store")])
def test_redis_unreachable_is_named(app_factory, setting, role, capsys):
    app = app_factory(**{setting: DEAD_REDIS})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert "Redis unreachable" in answer["reason"] and role in answer["reason"]
    assert answer["checks"]["database"] == "ok" and answer["checks"]["redis"].startswith("Redis unreachable")
    if setting == "REDIS_URL":
        assert answer["checks"]["queue"] == "job queue unreachable"
    assert not _leaks(response.get_data(as_text=True))
    # The log says more (for whoever runs the service), still without the password.
    logged = capsys.readouterr().err
    assert "readiness: Redis" in logged and "s3cret" not in logged
