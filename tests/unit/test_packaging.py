"""Packaging and deployment files agree with each other: lock files pin what pyproject asks
for, the image installs from the lock, compose migrates once before its replicas."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {canonicalize_name(name): version
            for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.MULTILINE)}


def _check(requirements: list[str], pins: dict[str, str]) -> None:
    for line in requirements:
        requirement = Requirement(line)
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned, f"{requirement.name} is not in the lock file: run `make lock`"
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"{requirement.name}=={pinned} does not satisfy {requirement.specifier}")


def test_lock_files_pin_every_dependency_within_its_bounds():
    _check(PROJECT["dependencies"], _pins("requirements.lock"))
    _check(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"],
           _pins("requirements-dev.lock"))


def test_image_installs_from_the_lock_and_serves_without_migrating():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2, "multi-stage"
    assert "-r requirements.lock" in dockerfile
    assert not re.search(r"pip install[^\n]*\s-e\s", dockerfile)
    assert '"serve", "--no-migrate"' in dockerfile


def test_compose_migrates_once_then_starts_two_replicas():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["db"]["image"].startswith("postgres")
    assert services["migrate"]["command"] == ["privacy-api", "migrate"]
    replicas = [s for name, s in services.items() if name.startswith("api-")]
    assert len(replicas) == 2
    for replica in replicas:
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "PRIVACY_DATABASE_URL" in replica["environment"]
