def test_home_page_is_polish_by_default(client, qualification):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="pl"' in response.get_data(as_text=True)


def test_health_endpoint_pings_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
