"""Sandbox CRM models. Import every model module here so the metadata is complete."""
from .base import Base, WorkspaceScoped, utcnow  # noqa: F401
from .customers import Company, Contact, CustomerEvent, ImportSource, Segment, Tag  # noqa: F401
from .offers import Offer, OfferLine, OfferTemplate, OutboxMessage, Product  # noqa: F401
from .reports import SavedReport  # noqa: F401
from .sales import Opportunity, OpportunityStageChange, Pipeline, PipelineStage, StageTask, Task  # noqa: F401
from .workspace import ActionStatement, Workspace  # noqa: F401
