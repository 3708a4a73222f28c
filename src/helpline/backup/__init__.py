"""Backup and restore of a whole instance: the database and every blob (docs/backup.md).

``create`` makes a set (``helpline backup``), ``restore`` checks and restores one
(``helpline restore``); ``manifest`` is the layout of a backup directory.
"""
