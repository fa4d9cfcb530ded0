"""Backups: an encrypted archive of the database and the stored files, and the way back from it.

``archive`` is the encrypted container (no Flask in it), ``services`` makes and restores backups
of the running configuration, ``cli`` is ``flask backup``.
"""
