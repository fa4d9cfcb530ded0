"""Holding a page's request back, to act on the page in the moment before a script runs or while
it waits for an answer; and moving a page's clock (Playwright's) by hand."""
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


def pause_now(page) -> None:
    """Stop the page's clock about where it is (after install it flows with real time): from here
    only ``run_for`` moves it."""
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.2)


def run_until_held(page, held: HeldRequest) -> None:
    """Move the paused clock on in half seconds until the held request has gone out."""
    for _ in range(100):
        if held.routes:
            return
        page.clock.run_for(500)
        page.wait_for_timeout(30)
    raise AssertionError(f"the page never asked for {held.pattern}")
