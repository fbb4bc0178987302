"""The README documents what a new user needs."""

from pathlib import Path

from app.core.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_lists_every_setting():
    missing = [f"PRIVACY_{name.upper()}" for name in Settings.model_fields
               if f"`PRIVACY_{name.upper()}`" not in README]
    assert not missing, f"README lacks settings: {missing}"


def test_quick_start_is_make_run_and_make_test():
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start
