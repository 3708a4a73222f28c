"""The domain layer: every change to Helpline's data goes through these functions.

Each public action takes the acting agent first (``None`` only for the system itself:
the mail pipeline and periodic jobs), checks the permission through ``access``, runs in
one transaction, writes its history entry in that transaction and starts side effects
(mail, indexing, notifications) on commit.
"""
