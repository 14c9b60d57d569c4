"""Documents that mirror the code cannot drift from it: the settings table is the code's,
and every setting the documents name exists."""

import re
from pathlib import Path

from studyhall.core.settings import Settings, markdown_table, setting_fields, settings_page
from tests.conftest import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_settings_page_is_the_table_generated_from_the_code():
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_page(), "docs/settings.md is out of date: run `make docs`"
    assert markdown_table(Settings) in page


def test_every_setting_a_document_names_exists():
    known = {variable for variable, _, _ in setting_fields(Settings)}
    named = {(path.name, match) for path in DOCUMENTS
             for match in re.findall(r"STUDYHALL_[A-Z0-9_]*[A-Z0-9]", path.read_text())}
    unknown = sorted(f"{name}: {variable}" for name, variable in named
                     if variable not in known and not any(k.startswith(variable + "__")
                                                          for k in known))
    assert unknown == []


def test_every_document_link_points_at_a_file():
    broken = []
    for path in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)} → {target}")
    assert broken == []


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 260
    assert Path(ROOT / "docs" / "measurements.md").is_file()
