"""The ``helpline`` console command: Django's management commands, with our settings."""

from __future__ import annotations

import os
import sys

# Files and directories Helpline creates are this user's only (0600/0700): mail,
# attachments, the databases, the cache and whatever a library writes for us.
# `helpline check` warns about looser ones (helpline/checks.py).
PRIVATE_UMASK = 0o077

# Commands whose name is a Python keyword live in a file of another name.
ALIASES = {"import": "import_data"}


def main(argv: list[str] | None = None) -> None:
    os.umask(PRIVATE_UMASK)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # Django's own --version would print Django's.
        from helpline import __version__

        print(f"helpline {__version__}")
        return
    # Commands are files (seed_demo.py); people type them with dashes (seed-demo).
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
        args[0] = ALIASES.get(args[0], args[0])
    execute_from_command_line(["helpline", *args])


if __name__ == "__main__":
    main()
