import sandbox_crm
from sandbox_crm.api import create_workspace
def test_dbg(login_as, sandbox_app):
    with sandbox_app.test_request_context():
        ws = create_workspace("Seeded", "user:1", {"leads_csv": ["a;b\n1;2"], "leads_pasted": ["Ewa Lis, Gamma S.A."]})
        sandbox_crm.session().commit()
    page = login_as("user:1").get(f"/sandbox/w/{ws.id}/import").get_data(as_text=True)
    print(page[page.find("<main"):][:3000])
