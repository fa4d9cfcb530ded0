from tests.web.test_theory import *
def test_dbg(app, world):
    c = client_as(app, world["operator"])
    r = c.get(f"/operator/sessions/{world['session'].id}")
    print(r.get_data(as_text=True)[-1500:])
    print(world["operator"].roles, [ (x.role, x.institution_id) for x in world["operator"].roles])
