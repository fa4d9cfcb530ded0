"""The qualification definition, the theory-test item bank and its tooling.

Pure Python: nothing here imports Flask or the database, so the bank can be checked,
exported and imported from the command line or a test without an application.
"""
