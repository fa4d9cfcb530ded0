"""Renewal of certificates by evidence analysis: expiry reminders, the holder's application with
periods of CRM work and evidence, an impartial assessor's analysis and a renewed certificate."""
