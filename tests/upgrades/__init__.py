"""Upgrades: the previous release against a database migrated by this code."""
