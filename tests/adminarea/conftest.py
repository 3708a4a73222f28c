"""The administration tests use the browser fixtures registered by tests/conftest.py."""
