"""Sandbox CRM services: the rules of each area, one module per area."""
