"""Complaints about an institution's conduct (ISO/IEC 17024 9.9), from anyone, with or without an account."""
