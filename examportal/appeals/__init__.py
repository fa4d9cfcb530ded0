"""Appeals against the decisions concerning a candidate or holder, decided by an independent panel,
and the right to see one's exam work."""
