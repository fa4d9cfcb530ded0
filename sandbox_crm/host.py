"""What the sandbox needs from the application that embeds it, and how it reaches it.

Every sandbox module gets its session and the host adapter from here (not from the package's
``__init__``, which imports the views and so would import them back).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Actor:
    """The person acting in the sandbox, as the host identifies them."""

    ref: str  # stable host-side reference, e.g. "user:12"
    name: str


@dataclass
class SandboxHost:
    """What the sandbox needs from the application that embeds it.

    ``session`` returns the SQLAlchemy session to use (the host's, so that the
    sandbox shares its transaction and engine); ``actor`` returns the current
    :class:`Actor` or ``None``; ``can_access(workspace, write)`` decides whether
    the current actor may see (``write=False``) or change (``write=True``) a
    workspace. Frozen workspaces are refused for writing by the sandbox itself.
    """

    session: Callable[[], Session]
    actor: Callable[[], Actor | None]
    can_access: Callable[[object, bool], bool]
    # Template the sandbox layout extends, so the host can wrap it in its chrome.
    layout_template: str = "sandbox_crm/standalone_layout.html"


def host() -> SandboxHost:
    """The host adapter of the current application."""
    adapter: SandboxHost = current_app.extensions["sandbox_crm"]
    return adapter


def session() -> Session:
    """The database session the sandbox works in."""
    return host().session()
