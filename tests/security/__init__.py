"""The attack suite: what an outsider (mail, login page, API) and an insider without
grants (web, API, CLI, admin, search) try, and what must hold.  Run it alone with
``pytest tests/security``; docs/security.md says what each file defends."""
