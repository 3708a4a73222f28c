"""The layers of docs/architecture.md hold: entry points > jobs > responses > mail >
actions > models, each importing only the layers below it (import-linter's layers
contract in pyproject.toml, also run by ``make lint``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_layers_contract_is_declared_and_kept():
    config = (ROOT / "pyproject.toml").read_text()
    assert 'type = "layers"' in config
    for layer in ("helpline.jobs", "helpline.responses", "helpline.mail"):
        assert f'"{layer}"' in config
    result = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert "Layers: entry points > jobs > responses > mail > actions > models KEPT" in (
        result.stdout
    ), result.stdout[-3000:]
    assert result.returncode == 0, result.stdout[-3000:]
