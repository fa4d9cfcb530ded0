"""The theory test: candidates take it, the draw/clock/scoring rules live in services."""
