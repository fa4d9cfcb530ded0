"""Sandbox views, one module per area; importing them registers their routes on ``bp``."""
from ..blueprint import bp
from ..coaching import coaching_allowed
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
# Templates ask the one rule of coaching, as views do.
bp.add_app_template_global(coaching_allowed)
