from pathlib import Path

from fairdebt.ingest import docs

ROOT = Path(__file__).resolve().parents[2]


def test_docs_ingest_md_is_up_to_date():
    rendered = docs.render()
    assert (ROOT / "docs" / "ingest.md").read_text() == rendered, (
        "docs/ingest.md is out of date: run `.venv/bin/python -m fairdebt.ingest.docs > docs/ingest.md`"
    )
    for name in docs.config.sources():
        assert f"### `{name}`" in rendered
