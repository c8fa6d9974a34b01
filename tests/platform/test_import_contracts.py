"""The import contracts hold today, and they bite: each rule fails lint-imports when broken.

Each probe runs lint-imports on a copy of the code with one forbidden import added.
"""

import configparser
import re
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
        ("coko.domains.payments.probe", "from coko.domains.catalog import api\n",
         "payments may call the facade of accounts"),
        ("coko.domains.accounts.probe", "from coko.domains.notifications import api\n",
         "accounts may call the facade of no other domain"),
        ("coko.domains.catalog.probe", "from coko.devtools.testing.api import Api\n",
         "Production code imports no development tooling"),
        ("coko.platform.probe", "import coko.devtools.runner\n",
         "Production code imports no development tooling"),
        ("coko.domains.files.probe", "from coko.domains.accounts import testing\n",
         "Only test factories import a domain's test factories"),
        ("coko.domains.catalog.opds.probe", "from coko.domains.catalog import services\n",
         "Read edges (catalog's OPDS feeds) import no use case that writes"),
    ],
    ids=["other-domain-models", "other-domain-model-class", "platform-imports-domain",
         "django-in-contracts", "models-import-an-edge", "facade-not-in-the-graph",
         "accounts-calls-nobody", "domain-imports-devtools", "platform-imports-devtools",
         "production-imports-factories", "read-edge-imports-services"],
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


def test_any_domain_may_read_any_domains_contracts(tree):
    add_module(tree, "coko.domains.accounts.probe", "from coko.domains.payments import contracts\n")
    assert lint(tree).returncode == 0


def test_two_domains_may_read_each_other_s_contracts(tree):
    """Contracts never make a cycle: payments reads accounts' events and accounts payments'."""
    add_module(tree, "coko.domains.payments.probe", "from coko.domains.accounts import contracts\n")
    add_module(tree, "coko.domains.accounts.probe", "from coko.domains.payments import contracts\n")
    result = lint(tree)
    assert result.returncode == 0, result.stdout


def _layers() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "importlinter.ini")
    names = set()
    for line in config["importlinter:contract:domain-layers"]["layers"].split("\n"):
        names |= {part.strip(" ()") for part in re.split(r"[|:]", line) if part.strip()}
    return names


def test_every_module_of_a_domain_sits_in_a_layer():
    """A new kind of module gets a layer in importlinter.ini before it gets code."""
    layers = _layers()
    unplaced = []
    for domain in sorted(p for p in (ROOT / "coko" / "domains").iterdir() if (p / "__init__.py").exists()):
        for child in domain.iterdir():
            is_module = child.suffix == ".py" and child.stem != "__init__"
            is_package = child.is_dir() and (child / "__init__.py").exists()
            if (is_module or is_package) and child.stem not in layers:
                unplaced.append(f"{domain.name}.{child.stem}")
    assert not unplaced, f"modules in no layer of importlinter.ini: {unplaced}"


def test_the_graph_of_facades_is_the_architectures():
    """The calls-* contracts say, for each domain, the facades ../shared/ARCHITECTURE.md lets it call."""
    config = configparser.ConfigParser()
    config.read(ROOT / "importlinter.ini")
    domains = sorted(p.name for p in (ROOT / "coko" / "domains").iterdir() if (p / "__init__.py").exists())
    allowed = {}
    for domain in domains:
        section = f"importlinter:contract:calls-{domain}"
        if section not in config:
            allowed[domain] = set(domains) - {domain}  # analytics: every facade
            continue
        forbidden = {line.strip().split(".")[2] for line in config[section]["forbidden_modules"].split("\n")
                     if line.strip()}
        allowed[domain] = set(domains) - forbidden - {domain}
    assert allowed == {
        "accounts": set(),
        "catalog": {"accounts", "payments"},
        "payments": {"accounts"},
        "files": {"accounts", "catalog", "payments"},
        "reading": {"accounts", "catalog", "files", "payments"},
        "community": {"accounts", "catalog", "reading"},
        "recommendations": {"accounts", "catalog", "payments"},
        "gamification": {"accounts", "catalog", "reading"},
        "publishing": {"accounts", "catalog", "files", "payments"},
        "notifications": {"accounts", "catalog"},
        "analytics": set(domains) - {"analytics"},
    }
