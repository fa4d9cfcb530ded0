"""Sandbox views, one module per area; importing them registers their routes on ``bp``."""
from ..blueprint import bp
from ..labels import register_filters
from . import (  # noqa: F401  # noqa: F401  # noqa: F401
    action_log,
    customers,
    imports,
    offers,
    opportunities,
    pipelines,
    products,
    reports,
    segments,
    tasks,
    workspaces,
)

register_filters(bp)
