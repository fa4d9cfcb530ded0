def test_smoke(login_as, workspace):
    c = login_as("user:1")
    for url in ["", "companies", "contacts", "import", "segments", "log", "companies/new", "contacts/new", "segments/new"]:
        r = c.get(f"/sandbox/w/{workspace.id}/{url}")
        assert r.status_code == 200, (url, r.data[:3000])
    r = c.post(f"/sandbox/w/{workspace.id}/companies/new", data={"name": "Firma X sp. z o.o.", "nip": "5260001246", "size": "", "region": ""})
    assert r.status_code == 302, r.data.decode()[:5000]
    r = c.get(r.headers["Location"])
    assert r.status_code == 200, r.data.decode()
    print(r.data.decode()[-6000:])
