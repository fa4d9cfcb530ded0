"""Certification: the decision after validation, certificates, their register and public verification."""
