"""The import contracts hold today, and they bite: each rule fails lint-imports when broken.

Each probe runs lint-imports on a copy of the code with one forbidden import added.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "importlinter.ini", "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the code that a probe may break."""
    for name in ("coko", "config"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "locale"))
    shutil.copy(ROOT / "importlinter.ini", tmp_path)
    return tmp_path


def add_module(tree: Path, dotted: str, source: str) -> None:
    path = tree.joinpath(*dotted.split(".")).with_suffix(".py")
    path.write_text(source)


def test_the_code_keeps_every_contract(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, source, broken",
    [
        ("coko.domains.catalog.probe", "from coko.domains.accounts import models\n",
         "Domains are independent"),
        ("coko.domains.catalog.probe", "from coko.domains.accounts.models import OutboxEvent\n",
         "Domains are independent"),
        ("coko.platform.probe", "import coko.domains.catalog.api\n",
         "The platform (shared kernel) imports no domain"),
        ("coko.domains.catalog.contracts", "from django.db import models\n",
         "Contracts are plain data"),
        ("coko.domains.catalog.models", "from coko.platform.events.models import OutboxEventBase\n"
         "from coko.domains.catalog import http\n", "Inside a domain, the edges sit above"),
    ],
    ids=["other-domain-models", "other-domain-model-class", "platform-imports-domain",
         "django-in-contracts", "models-import-an-edge"],
)
def test_a_forbidden_import_breaks_the_build(tree, module, source, broken):
    add_module(tree, module, source)
    result = lint(tree)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout


def test_a_cycle_between_facades_breaks_the_build(tree):
    add_module(tree, "coko.domains.catalog.api", "from coko.domains.reading import api\n")
    add_module(tree, "coko.domains.reading.api", "from coko.domains.catalog import api\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "No import cycles between domains" in result.stdout and "BROKEN" in result.stdout


def test_a_facade_call_is_allowed(tree):
    add_module(tree, "coko.domains.reading.probe",
               "from coko.domains.catalog import api, contracts\n")
    assert lint(tree).returncode == 0
