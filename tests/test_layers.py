"""The layers of docs/architecture.md hold: entry points > jobs > responses > mail >
actions > models, each importing only the layers below it (import-linter's layers
contract in pyproject.toml, also run by ``make lint``)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_layers_contract_is_declared_and_kept():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    # A layer line may hold several independent modules ("a : b").
    declared = [[name.strip() for name in line.split(":")] for line in layers]
    order = {name: i for i, names in enumerate(declared) for name in names}
    for layer in (
        "helpline.jobs",
        "helpline.importers",
        "helpline.responses",
        "helpline.mail",
    ):
        assert layer in order, layer
    assert order["helpline.jobs"] < order["helpline.responses"] < order["helpline.mail"]
    assert (
        order["helpline.importers"]
        < order["helpline.actions"]
        < order["helpline.models"]
    )
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
