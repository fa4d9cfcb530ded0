"""Sandbox CRM forms, one module per area."""
