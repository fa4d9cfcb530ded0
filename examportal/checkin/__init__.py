"""Exam-day check-in: the operator compares each candidate's identity document with the
application before the candidate's theory test may be unlocked; and the exam room's networks."""
