"""The linkage pipeline on Spark (FAIRDEBT_BATCH_ENGINE=spark, local mode) links as it does on DuckDB.

A small synthetic council (about 330 records) is trained and linked on both engines. Training is
deterministic on both: every random pair is counted for u (a small set has fewer pairs than
U_MAX_PAIRS, so the sample is everything) and EM starts from the same values, so the two models
agree to rounding and the clusters must be identical, as must the incremental run with the saved
model. (On a set with more than U_MAX_PAIRS pairs each engine draws its own random sample for u,
and the models differ slightly: see decision 0006.) About 50 s, most of it Spark's JVM start and
its per-query overhead.

`make test` runs this under pytest-xdist next to tests/unit/test_prioritise_spark.py: each worker is
its own process with its own JVM, random ports (the UI is off) and its own scratch directory.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fairdebt.batch import linkage
from fairdebt.domain import identity
from fairdebt.synth.council import generate

from test_linkage import _bench  # noqa: E402  (the same bench module the DuckDB tests load)

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

KEY = identity.Tokeniser(b"test-linkage-spark-key" * 2, "t1")


@pytest.fixture(scope="module")
def council(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("council")
    generate(250, 5, out, date(2026, 10, 31))
    bench = _bench()
    records = bench.synth_records(out)
    return {"parties": linkage.parties_frame(records, KEY), "accounts": bench.accounts_frame(records),
            "truth": pl.read_csv(out / "truth.csv", infer_schema=False)}


@pytest.fixture(scope="module")
def spark_scratch(tmp_path_factory):
    """Spark's scratch space under pytest's temporary directory; the session is stopped at the end."""
    from pyspark import SparkContext

    scratch = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAIRDEBT_SPARK_TMP", str(scratch))
        yield scratch
        linkage.stop_spark()
    assert SparkContext._active_spark_context is None
    assert not list(scratch.iterdir())  # the scratch directory went with the session


def _scores(result, council) -> dict:
    refs = council["parties"].select("party_id", "system", "party_ref")
    return linkage.evaluate(result.clusters.join(refs, on="party_id"), council["truth"])


def test_spark_links_exactly_as_duckdb(council, spark_scratch, monkeypatch):
    parties, accounts = council["parties"], council["accounts"]
    duck = linkage.link(parties, accounts=accounts, engine_name="duckdb")

    monkeypatch.setenv(linkage.ENGINE_ENV, "spark")  # the one switch a council sets
    spark = linkage.link(parties, accounts=accounts)

    # Local mode, loopback only, no UI, nothing fetched: no jars or packages, Splink's similarity
    # UDF jar not registered (every comparison level is an exact match on a token).
    session = linkage.SparkEngine.session()
    conf = dict(session.sparkContext.getConf().getAll())
    assert conf["spark.master"].startswith("local")
    assert conf["spark.ui.enabled"] == "false" and conf["spark.driver.host"] == "127.0.0.1"
    assert not conf.get("spark.jars") and not conf.get("spark.jars.packages")
    assert conf["spark.local.dir"].startswith(str(spark_scratch))
    assert "jaro_winkler" not in {f.name for f in session.catalog.listFunctions()}

    # The same model, to rounding ...
    for a, b in zip(linkage.model_summary(duck.model), linkage.model_summary(spark.model), strict=True):
        assert (a["comparison"], a["level"]) == (b["comparison"], b["level"])
        assert b["m"] == pytest.approx(a["m"], rel=1e-6, abs=1e-9) and b["u"] == pytest.approx(a["u"], rel=1e-6, abs=1e-12)
    assert spark.model["negative_controls"] == duck.model["negative_controls"]
    # ... the same pairs, scores and explanations, and the same people.
    columns = ["party_id_l", "party_id_r", "status", "agreeing", "in_cluster"]
    assert spark.pairs.select(columns).equals(duck.pairs.select(columns))
    assert spark.pairs["match_weight"].to_list() == pytest.approx(duck.pairs["match_weight"].to_list(), abs=1e-6)
    assert spark.clusters.equals(duck.clusters)
    assert spark.counts == duck.counts
    quality = _scores(spark, council)
    assert quality["precision"] >= 0.97 and quality["recall"] >= 0.7, quality

    # Incremental linking with the saved model (trained on DuckDB, run on Spark) agrees too.
    new_ids = parties.filter(pl.col("party_id") % 9 == 0)["party_id"].to_list()
    existing = duck.clusters.filter(~pl.col("party_id").is_in(new_ids))
    on_duck = linkage.link_new(existing, parties, new_ids, duck.model, accounts=accounts, engine_name="duckdb")
    on_spark = linkage.link_new(existing, parties, new_ids, duck.model, accounts=accounts)
    assert on_spark.clusters.equals(on_duck.clusters)
    assert on_spark.pairs.select(columns).equals(on_duck.pairs.select(columns))
