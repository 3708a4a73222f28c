"""Importers from other ticket systems (``helpline import ...``)."""
