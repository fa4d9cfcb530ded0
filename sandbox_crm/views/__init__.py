"""Sandbox views, one module per area; importing them registers their routes on ``bp``."""
from ..blueprint import bp  # noqa: F401
from . import workspaces  # noqa: F401
from . import action_log, customers, imports, segments  # noqa: F401
from . import opportunities, pipelines, tasks  # noqa: F401
from . import offers, products, reports  # noqa: F401
