"""The documentation stays whole: docs/ builds as an MkDocs site with `mkdocs build --strict` (no broken link or
anchor, no page left out of the nav), the README's links reach files and headings that exist, and docs/configs.md
has a row for every config key.

mkdocs is imported plainly: the dev extra installs it, and CI without it must fail, not skip.
"""

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mkdocs  # noqa: F401  (pip install -e '.[dev]' or '.[docs]')
import yaml
from helpers import REPO
from markdown.extensions.toc import slugify

from s2s.config import SECTIONS, Config


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=120)


def test_the_docs_site_builds_with_no_warning(tmp_path):
    result = build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    pages = sorted(str(path.relative_to(REPO / "docs")) for path in (REPO / "docs").rglob("*.md"))
    assert "index.md" in pages and "commands.md" in pages and "configs.md" in pages
    assert "benchmarks/index.md" in pages and "benchmarks/everyday.md" in pages
    for page in pages:  # every page became one of the site's pages (an index.md is its folder's index.html)
        stem = Path(page.removesuffix(".md"))
        html = tmp_path / "site" / (stem.parent if stem.name == "index" else stem) / "index.html"
        assert html.is_file(), page


def test_a_broken_link_or_a_page_missing_from_the_nav_fails_the_build(tmp_path):
    """The strictness is the config's (its validation settings): a copy of the docs with one fault each fails."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    for fault in ("link", "anchor", "page"):
        docs = tmp_path / fault / "docs"
        shutil.copytree(REPO / "docs", docs)
        if fault == "link":
            (docs / "index.md").write_text("# s2s\n\nSee [the recipes](recipe.md).\n", encoding="utf-8")
        elif fault == "anchor":
            (docs / "index.md").write_text("# s2s\n\nSee [train](commands.md#s2s-trian).\n", encoding="utf-8")
        else:
            (docs / "unlisted.md").write_text("# Not in the nav\n", encoding="utf-8")
        (tmp_path / fault / "mkdocs.yml").write_text(yaml.safe_dump({**config, "docs_dir": "docs"}), encoding="utf-8")
        result = build(tmp_path / fault / "mkdocs.yml", tmp_path / fault / "site")
        assert result.returncode != 0, (fault, result.stderr[-2000:])
        assert {"link": "recipe.md", "anchor": "s2s-trian", "page": "unlisted.md"}[fault] in result.stderr


def headings(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings (outside code blocks), as MkDocs and GitHub write them."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slugify(title.strip(), "-") for title in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_the_readme_links_reach_existing_files_and_headings():
    readme = REPO / "README.md"
    targets = re.findall(r"\]\(([^)\s]+)\)", readme.read_text(encoding="utf-8"))
    local = [target for target in targets if not target.startswith(("http://", "https://"))]
    assert len(local) >= 30 and any(target.startswith("docs/commands.md#") for target in local)
    for target in local:
        path, _, anchor = target.partition("#")
        page = REPO / path if path else readme
        assert page.exists(), f"README.md links to {target}, which does not exist"
        if anchor:
            assert anchor in headings(page), f"README.md links to {target}: {path or 'README.md'} has no such heading"


def test_the_readme_opens_with_the_two_commands():
    """The install-and-run command and the test command (.ci/run runs the latter) come first, as they are."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks[0] == ("pip install torch==2.13.0 && pip install -e '.[plots]' && s2s train --config "
                         "configs/quickstart.yaml && s2s report runs/quickstart\n")
    assert blocks[2] == "pip install torch==2.13.0 && pip install -e '.[dev]' && python -m pytest\n"
    assert "pip install -e '.[dev]' && python -m pytest" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_config_page_has_a_row_for_every_config_key():
    rows = [line for line in (REPO / "docs" / "configs.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `")]
    documented = {key for row in rows for key in re.findall(r"`([\w.]+)`", row.split(" | ")[0])}
    keys = {f"{section}.{field.name}" for section, kind in SECTIONS.items() for field in dataclasses.fields(kind)}
    keys |= {field.name for field in dataclasses.fields(Config) if field.name not in SECTIONS}
    assert "train.lr" in keys and "imports" in keys
    assert not keys - documented, f"config keys with no row in docs/configs.md: {sorted(keys - documented)}"
    assert not documented - keys, f"rows of docs/configs.md for keys config.py does not have: {sorted(documented - keys)}"


def test_benchmarks_opens_with_its_summary_table():
    sections = re.split(r"^## ", (REPO / "BENCHMARKS.md").read_text(encoding="utf-8"), flags=re.M)
    assert sections[1].startswith("Summary\n"), f"BENCHMARKS.md's first section is {sections[1].splitlines()[0]!r}"
    assert "\n| figure | value | machine | date | commit | rerun |\n|---|" in sections[1]
