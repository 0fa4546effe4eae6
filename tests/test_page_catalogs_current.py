"""The pages' catalog template holds every string the code and templates mark, and each
shipped language has a translation of every one: a string added without `make
messages` (docs/languages.md) fails here rather than showing English on a Polish page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "translations" / "pages"


def msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(m.id) if isinstance(m.id, str) else str(m.id[0]) for m in read_po(handle) if m.id}


def test_the_template_holds_every_marked_string(tmp_path):
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l", "--no-location"]
        + ["--sort-output", "--omit-header", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
    )
    missing = msgids(fresh) - msgids(PAGES / "messages.pot")
    assert not missing, f"run `make messages`: {sorted(missing)[:5]}"


def test_every_shipped_language_translates_every_string():
    wanted = msgids(PAGES / "messages.pot")
    for po in PAGES.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        done = {
            str(m.id) if isinstance(m.id, str) else str(m.id[0])
            for m in catalog
            if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
        }
        assert not wanted - done, f"{po.parent.parent.name}: {sorted(wanted - done)[:5]}"
