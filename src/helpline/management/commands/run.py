"""``helpline run``: the web server, the mail listener and the worker, together.

What ``make run`` starts.  Each part runs as its own process (as they would under
systemd in production); when one stops, the others are stopped too, and Ctrl-C or
SIGTERM stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run Helpline's web server, LMTP listener and background worker together "
        "(for a single machine; in production run them as separate services)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="web server address"
        )
        parser.add_argument(
            "--lmtp", default="127.0.0.1:8024", help="LMTP listener address"
        )
        parser.add_argument("--no-listener", action="store_true")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        me = [sys.executable, "-m", "helpline.cli"]
        parts = {"web": [*me, "serve", "--bind", options["bind"]]}
        if not options["no_listener"]:
            parts["listener"] = [*me, "mail", "listen", "--bind", options["lmtp"]]
        if not options["no_worker"]:
            parts["worker"] = [*me, "worker"]
        procs: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for name, argv in parts.items():
            # Our own interpreter and module with our own arguments: no shell.
            procs[name] = subprocess.Popen(argv, env=os.environ.copy())  # noqa: S603
        host = options["bind"]
        self.stdout.write(
            f"Helpline is running: web http://{host}/"
            + (f", LMTP {options['lmtp']}" if "listener" in procs else "")
            + (", worker" if "worker" in procs else "")
            + ". Ctrl-C stops it."
        )
        code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(
                        f"{name} stopped (exit {proc.returncode}); stopping."
                    )
                    code = proc.returncode or 1
                    stopping = True
                    break
            time.sleep(0.5)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if code:
            sys.exit(code)
