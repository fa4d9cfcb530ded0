"""Competence records of committee members and exam-system operators, checked against the
qualification's staff requirements before anyone is appointed."""
