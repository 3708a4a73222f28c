"""Helpline: an open-source ticket request system."""

__version__ = "0.1.0"
