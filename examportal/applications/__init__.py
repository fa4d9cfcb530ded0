"""Candidates' applications to published sessions and the institution's formal check of them."""
