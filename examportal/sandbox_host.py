"""examportal as the host of the bundled sandbox CRM: session, actor and access rules."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

import sandbox_crm
from sandbox_crm import Actor, SandboxHost

from .extensions import db
from .models import Role


def owner_ref(user) -> str:
    """How the sandbox refers to one of our users."""
    return f"user:{user.id}"


def _actor():
    if current_user.is_authenticated:
        return Actor(ref=owner_ref(current_user), name=current_user.full_name)
    return None


def _can_access(workspace, write: bool) -> bool:
    """The owner may use their workspace; an administrator may look at any, never change it."""
    if not current_user.is_authenticated:
        return False
    if workspace.owner_ref == owner_ref(current_user):
        return True
    return not write and current_user.has_role(Role.ADMIN)


def init_app(app: Flask) -> None:
    sandbox_crm.init_app(
        app,
        SandboxHost(session=lambda: db.session, actor=_actor, can_access=_can_access,
                    layout_template="sandbox_layout.html"),
    )
