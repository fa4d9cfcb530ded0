"""The practical exam: the candidate's scenario in a sandbox CRM workspace, on the clock."""
