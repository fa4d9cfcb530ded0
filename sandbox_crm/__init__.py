"""The bundled sandbox CRM.

It knows nothing of examportal. A host application plugs it in with
:func:`init_app`, handing over a :class:`SandboxHost` that supplies the database
session, the acting user and the authorization decision for a workspace. The
host talks to the sandbox only through the functions in :mod:`sandbox_crm.api`.

Transactions follow the host's commit rule (one commit per request): the sandbox works in the
host's session; its services and :mod:`sandbox_crm.api` add and flush but never commit (they also
run inside the host's own units of work, such as seeding a practical attempt's workspace), and each
view commits once, after its service call succeeded.
"""
from __future__ import annotations

from flask import Flask

from .host import Actor, SandboxHost, host, session

__all__ = ["Actor", "SandboxHost", "host", "init_app", "session"]


def init_app(app: Flask, host: SandboxHost, url_prefix: str = "/sandbox") -> None:
    """Register the sandbox blueprint on ``app`` with the given host adapter."""
    from .params import IdConverter
    from .views import bp  # registers all routes

    # Before the rules are added: an id beyond what the database holds is a 404, never an overflow.
    app.url_map.converters["int"] = IdConverter
    app.extensions["sandbox_crm"] = host
    app.register_blueprint(bp, url_prefix=url_prefix)
