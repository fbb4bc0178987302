"""The layering the README describes, checked on the source: the gate cannot be skipped."""

import ast
from pathlib import Path

import app as app_package

APP = Path(app_package.__file__).parent
DOMAINS = {"identity", "addresses", "orders", "messages", "consents", "complaints", "requests",
           "audit", "outbox"}
PRIVATE = {"models", "repository", "readers", "schemas", "service", "router", "errors"}
WIRING = {"main.py", "models.py", "cli.py", "background.py"}  # assemble every domain
OPERATIONS = {"observability"}  # counts rows of every domain for metrics; returns no records
AUDIT_WRITERS = {"record", "fetch_one_recorded", "fetch_recorded", "record_on"}
"""What appends to the trail: only the gate (and the audit package itself) calls these."""


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from ... import ...` and `import ...` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def _sources(folder: Path = APP):
    return sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py")


def _package(path: Path) -> str:
    return path.relative_to(APP).parts[0] if len(path.relative_to(APP).parts) > 1 else ""


def test_core_imports_no_domain_and_not_the_gate():
    for path in _sources(APP / "core"):
        for module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] == "app":
                assert parts[1] in {"core", "policy"}, f"{path.name} imports {module}"


def test_domains_use_only_each_others_public_face():
    for path in _sources():
        own = _package(path)
        if (path.name in WIRING and not own) or own in OPERATIONS:
            continue
        for module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] != "app" or len(parts) < 3 or parts[1] not in DOMAINS:
                continue
            if parts[1] != own and parts[1] != "outbox":
                assert parts[2] == "public", f"{path.relative_to(APP)} imports {module}"
            if parts[1] == "outbox" and own != "outbox":
                assert parts[2] in {"public", "service"}, f"{path.relative_to(APP)}: {module}"


def test_only_the_gate_decides_projects_and_records_reads():
    gate = APP / "access" / "gate.py"
    for path in _sources():
        for module, names in _imports(path):
            if module == "app.policy.decisions":
                assert path.parent.name in {"access", "policy"}, f"{path.name} decides itself"
            if module == "app.access.projection" and "GATE_TOKEN" in names:
                assert path == gate, f"{path.relative_to(APP)} makes projections"
            if module in {"app.audit.public", "app.audit.repository"}:
                assert not AUDIT_WRITERS & set(names) or path == gate or \
                    path.parent.name == "audit", f"{path.relative_to(APP)} writes the audit"


def test_every_domain_has_the_same_shape():
    """Field readers in `readers.py`, errors in `errors.py`, and so on, in every domain."""
    for domain in DOMAINS - {"outbox"}:
        files = {p.stem for p in (APP / domain).glob("*.py")}
        assert files >= PRIVATE, (domain, PRIVATE - files)
