"""axe-core in the browser tests: load the vendored ``axe.min.js`` into a page and list what it finds.

The script is served to the page from a same-origin URL that Playwright answers from
``vendor/axe.min.js`` (the app never serves it), so the page keeps its own Content-Security-Policy
(``script-src 'self'``) while it is checked: the audit sees the page as a candidate gets it.
"""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Route

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_URL = "/__tests__/axe.min.js"
BLOCKING = ("serious", "critical")

RUN_AXE = """async (rules) => {
  const options = {resultTypes: ["violations"]};
  if (rules) { options.runOnly = {type: "rule", values: rules}; }
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\\s+/g, " "))
  }));
}"""


def serve_axe(context: BrowserContext) -> None:
    """Let every page of ``context`` load axe from :data:`AXE_URL` (answered by Playwright, not the app)."""
    if getattr(context, "_serves_axe", False):
        return

    def fulfil(route: Route) -> None:
        route.fulfill(path=str(AXE), content_type="application/javascript; charset=utf-8")

    context.route(f"**{AXE_URL}", fulfil)
    context._serves_axe = True  # type: ignore[attr-defined]


def violations(page: Page, impacts: tuple[str, ...] = BLOCKING, rules: tuple[str, ...] | None = None) -> list[dict]:
    """axe's violations on the page as it is now, of the given impacts; ``rules``: only these axe rules
    (e.g. ``color-contrast-enhanced``, off by default), else axe's default set.

    A page just navigated to is first let load: its stylesheets applied and its scripts run (they show
    the display options, the "select all" box, make wide tables' boxes reachable with Tab), so the
    audit checks the page a user gets, not whatever part of it had arrived."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        serve_axe(page.context)
        page.add_script_tag(url=AXE_URL)
        page.wait_for_function("() => typeof window.axe === 'object'")
    return [v for v in page.evaluate(RUN_AXE, list(rules) if rules else None) if v["impact"] in impacts]


def describe(found: list[dict]) -> str:
    """The violations as lines a developer can act on: rule, impact, help, the elements."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"][:8])
    return "\n".join(lines)


class Audit:
    """Checks one page after another and reports every page's violations together at the end."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict]] = {}

    def check(self, page: Page, where: str) -> None:
        """Run axe on ``page`` as it is now; remember what it finds under ``where``."""
        if found := violations(page):
            self.found[f"{where} ({page.url})"] = found

    def assert_clean(self) -> None:
        assert not self.found, "\n\n".join(f"{where}:\n{describe(v)}" for where, v in self.found.items())
