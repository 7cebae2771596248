"""Reading an extract: a file is either read into rows (a bad line kept as a row for quarantine) or
refused whole with one message that says what is wrong and what to do (no database needed)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from fairdebt.ingest import config, reader

SOURCE = config.get("council_tax.transactions")
COLUMNS = list(SOURCE.columns.values())


def _row(**values) -> dict:
    return {c: values.get(c, "") for c in COLUMNS} | {"TRANS_ID": values.get("TRANS_ID", "T1"), "AMOUNT": "1.00"}


def test_json_lines_keep_every_line_a_bad_one_as_a_row_marked_for_quarantine(tmp_path):
    path = tmp_path / "payments.jsonl"
    path.write_text("\n".join([
        json.dumps(_row(TRANS_ID="T1")),
        "",  # blank lines are not rows
        '{"TRANS_ID": "T2", ',
        "[1, 2, 3]",
        json.dumps(_row(TRANS_ID="T5") | {"EXTRA": {"nested": [1, 2]}}),
    ]) + "\n", encoding="utf-8")
    df = reader.read(SOURCE, path)
    rows = {r[reader.LINE]: r for r in df.to_dicts()}
    assert sorted(rows) == [1, 3, 4, 5]
    assert rows[1]["TRANS_ID"] == "T1" and rows[1]["_unparseable"] is None
    assert rows[3]["_unparseable"].startswith("line is not valid JSON (") and '{"TRANS_ID": "T2", ' in rows[3]["_unparseable"]
    assert rows[4]["_unparseable"] == "line is not a JSON object: [1, 2, 3]"
    assert json.loads(rows[5]["EXTRA"]) == {"nested": [1, 2]}  # kept as JSON text, not lost


@pytest.mark.parametrize(("name", "content", "message"), [
    ("all-bad.jsonl", b"not json\nnor this\n", "is not JSON Lines: line is not valid JSON"),
    ("binary.jsonl", b"\x00\x01\x02{}", "is not a JSON Lines text file (it contains binary data)"),
    ("latin1.jsonl", '{"TRANS_ID": "£5"}\n'.encode("cp1252"), "is not UTF-8 text. Export the extract as UTF-8"),
    ("latin1.csv", ("TRANS_ID,AMOUNT\nT1,£5\n").encode("cp1252"), "iconv -f WINDOWS-1252 -t UTF-8"),
    ("binary.csv", b"\x00\x01\x02,,\n", "contains binary data). Check that you picked the right file"),
    ("broken.parquet", b"PAR1 not really", "is not a readable Parquet file"),
])
def test_a_file_that_cannot_be_read_is_refused_whole_with_what_to_do(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(reader.UnreadableFile, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        reader.read(SOURCE, path)


def test_a_missing_file_or_column_is_named(tmp_path):
    with pytest.raises(reader.UnreadableFile, match="no such file. Check the path"):
        reader.read(SOURCE, tmp_path / "nowhere.csv")
    path = tmp_path / "short.csv"
    pl.DataFrame({"TRANS_ID": ["T1"], "SOMETHING": ["x"]}).write_csv(path)
    with pytest.raises(reader.UnreadableFile) as refused:
        reader.read(SOURCE, path)
    text = str(refused.value)
    assert "missing required column(s) 'CHARGE_REF'" in text and "The file's columns are: TRANS_ID, SOMETHING" in text
    assert "map its columns in $FAIRDEBT_HOME/sources.toml" in text


def test_an_empty_json_lines_file_is_no_rows_not_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert reader.read(SOURCE, path).height == 0
