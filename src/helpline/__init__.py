"""Helpline: an open-source ticket request system."""

__version__ = "0.2.0.dev0"
