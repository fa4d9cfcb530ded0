"""Holding a page's request back, to act on the page in the moment before a script runs."""
from __future__ import annotations


class HeldRequest:
    """A request of ``page`` matching ``pattern`` held back until :meth:`release` — a script that
    has not arrived yet, to act on the page in the moment before it runs."""

    def __init__(self, page, pattern: str) -> None:
        self.page, self.pattern, self.routes = page, pattern, []
        routes = self.routes

        def hold(route):  # Playwright wants a function, not a bound method
            routes.append(route)

        page.route(pattern, hold)

    def wait(self) -> None:
        """Until the page has asked for it (Playwright hands the request over while it waits on the page)."""
        for _ in range(200):
            if self.routes:
                return
            self.page.wait_for_timeout(25)
        raise AssertionError(f"the page never asked for {self.pattern}")

    def release(self) -> None:
        """Let it through; later requests of the pattern are not held."""
        self.wait()
        self.routes[0].continue_()
        self.page.unroute(self.pattern)
