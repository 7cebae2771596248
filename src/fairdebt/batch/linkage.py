"""Record linkage: cluster source records (parties) into people, on keyed tokens only.

Frames in, frames out; no Django. The database hands over Party rows (party_id, system,
party_ref and the tok_* columns of fairdebt.domain.identity) and, optionally, who holds which
account (party_id, account_id); `link` returns the clusters (party_id -> cluster_id), the scored
pairs of parties, each with a readable explanation, and the trained model (a JSON artefact);
`link_new` links new parties with a saved model; `evaluate` scores clusters against a truth.

How it works
  * Splink 5, "dedupe_only" over one table of every system's records, so duplicates inside one
    system are found too. A party may come with several records (rows sharing a party_id: the
    addresses of its accounts, say); it also gets one record per joint account holder's name
    (tok_co_holder: that holder's canonical forename and Soundex surname tokens). Splink's unique
    id is the record (record_id); a party's own records are never paired, and two parties score
    as their best pair of records.
  * Every comparison level is an exact match on a token: raw values never reach this module, so
    string distances are replaced by derived tokens (canonical forename, Soundex codes, first
    initial, month and year of birth, day and month of birth, house numbers + postcode, building
    number + postcode, postcode sector). Surname,
    forename, postcode, phone and email agreements are term-frequency adjusted.
  * Training needs no labels: u by random sampling (every sampled pair counted, one pass per
    comparison, so every engine gets the same u); the prior from deterministic rules; m by
    expectation maximisation on three blocking rules. Some levels break Fellegi-Sunter's
    independence so badly that their u is measured on negative controls instead (pairs certainly of
    two people, by NI number or year of birth; CONDITIONAL_U_LEVELS): an email shared by two
    records with the same name (jo.smith@... belongs to many Jo Smiths), a surname or a phone
    shared at one address (a household), and a joint holder's name shared by two namesakes (two
    Mohammed Ahmeds may each hold an account with a Fatima Begum).
  * Candidate pairs come from equi-join blocking rules on tokens (no cartesian product). Two
    records with nothing in common but a name are never compared: on a name alone nobody can tell
    a person from a namesake, and each such link would merge two people's records. A joint
    holder's name in common as well is enough to be compared (and weighed).
  * Clustering is a constrained maximum spanning forest (Kruskal): officers' links first, then the
    model's links from the strongest down. A link is skipped ("refused") when it would put into one
    cluster two parties an officer has unlinked, two holders of one account (joint liability is
    two people), two different NI numbers, or (below a very strong link) two different years of
    birth, unless the day and month of birth agree (a year typed one out). Without such conflicts this is exactly the connected components of the links at or
    above the threshold.

Officers' overrides, (party_id_a, party_id_b, "link" | "unlink"[, reason]), are applied on every
run, so they survive re-runs and re-training. An unlinked pair never ends up in one cluster: links
are taken strongest first, and every link that would join the two parties' clusters is refused, so
the cluster splits at its weakest point between them. A linked pair always ends up in one cluster
(an officer's link overrides every refusal but an officer's unlink), unless officers' decisions
contradict each other (a-b and b-c linked, a-c unlinked): then the unlink wins and the
contradicting link is reported as refused. The last decision on a pair replaces earlier ones.

The backend is chosen in one place (`engine()`): DuckDB by default, Splink's Spark backend when
FAIRDEBT_BATCH_ENGINE=spark (local mode by default; see SparkEngine). Both give the same model and
the same clusters (tests/unit/test_linkage_spark.py). Measured quality and its limits on the
synthetic council: bench/linkage.py and docs/decisions/0006-linkage-recall.md.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import polars as pl

from fairdebt.domain import identity

ENGINE_ENV = "FAIRDEBT_BATCH_ENGINE"
MODEL_FORMAT = "fairdebt.linkage/2"  # /1: one record per party (unique id party_id); still read
TOKEN_COLUMNS: tuple[str, ...] = identity.token_fields()
RECORD_ID = "record_id"  # Splink's unique id: one row per record of a party
CO_HOLDER = "tok_co_holder"  # the name of a joint holder of one of the party's accounts (tokens)
LINKAGE_COLUMNS: tuple[str, ...] = (*TOKEN_COLUMNS, CO_HOLDER)
SLIP_COLUMNS = ("tok_forename_slips", "tok_surname_slips")  # several tokens each, space-separated
MAX_CO_HOLDERS = 4  # joint holders' names per party, at most (bounds the rows a party can become)
# Match probability at or above which a scored pair is a link: more likely one person than two,
# with a little room. Chosen on the four 50,000-resident councils of the bench from 0.55 / 0.65 /
# 0.75: the lowest recall is highest at 0.55 (0.973-0.975) with precision 0.994-0.997. It was 0.85
# while a joint holder's name at another address counted as evidence and a shared mailbox lost
# 8 bits to a term-frequency slip; without those, the pairs that 0.55 links and 0.85 did not are
# one person about nine times in ten (docs/decisions/0006-linkage-recall.md, "Calibrated evidence").
DEFAULT_THRESHOLD = 0.55
NEAR_MISS_FLOOR = 0.25  # pairs scored below the threshold down to this probability are reported as near misses
OVERRIDE_KINDS = ("link", "unlink")

# A model link joining two clusters whose people were born in different years is only accepted
# above this match weight (a slip in a year of birth happens; two people are commoner).
DOB_CONFLICT_OVERRIDE_WEIGHT = 20.0
NINO_CONFLICT_OVERRIDE_WEIGHT = 25.0  # an NI number typed wrong, with much else agreeing

# Splink warns about every level a synthetic or small dataset never shows ("not observed"): noise here.
SPLINK_LOG_LEVEL = logging.ERROR


# ---------------------------------------------------------------------------------------- backend
class Engine:
    """Where Splink runs. The only place that knows DuckDB from Spark."""

    name = "duckdb"
    # u is counted over every sampled pair in this many pieces (bounded memory); the counts add up
    # to the same u whatever the number, so every engine gets the same model from the same sample.
    u_chunks = 10

    def db_api(self):
        from splink import DuckDBAPI

        return DuckDBAPI(connection=":memory:")

    def register(self, db_api, frame: pl.DataFrame, name: str):
        return db_api.register(frame.to_arrow(), dataset_display_name=name)

    def to_polars(self, sdf) -> pl.DataFrame:
        return pl.from_arrow(sdf.as_duckdbpyrelation().to_arrow_table())

    def close(self, db_api) -> None:
        try:
            db_api._con.close()
        except Exception:  # pragma: no cover - best effort
            pass


class SparkEngine(Engine):
    """Splink's Spark backend (FAIRDEBT_BATCH_ENGINE=spark), in local mode unless told otherwise.

    One SparkSession per process, started on first use and kept for the next run (a JVM takes
    seconds to start); `stop_spark()` ends it (also at exit). A session something else in the
    process started is used as it is, and left running. Local mode touches no network: the driver
    binds to 127.0.0.1, the UI is off (no port), and Spark's scratch space, warehouse and Splink's
    checkpoints live in one temporary directory of this process (removed when the session stops),
    so two processes (two pytest-xdist workers) never share files or ports. Splink's Scala
    similarity UDFs (jaro_winkler and the like, in a jar Splink ships) are not registered: every
    level here compares tokens for equality (or a shared token, in SQL both engines read), so no
    jar is loaded and nothing is downloaded.

    Environment: FAIRDEBT_SPARK_MASTER (default local[2]), FAIRDEBT_SPARK_PARTITIONS (shuffle
    partitions, default 2), FAIRDEBT_SPARK_DRIVER_MEMORY (default Spark's), FAIRDEBT_SPARK_TMP (the
    parent of the scratch directory, default the system's temporary directory),
    FAIRDEBT_SPARK_LINEAGE (how Splink breaks Spark's lineage between steps: parquet, the default,
    writes each intermediate table to the scratch directory; persist keeps them in memory).
    """

    name = "spark"
    u_chunks = 1  # each Spark query costs a fixed half second or so: one pass per comparison
    _session = None
    _owned = False  # whether this module started the session (and so stops it)
    _scratch: str | None = None

    @classmethod
    def session(cls):
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                f"{ENGINE_ENV}=spark needs pyspark, which is not installed. Install it with "
                "`pip install 'pyspark>=4,<5'` (and Java 17), or unset the variable to use DuckDB."
            ) from exc
        spark = cls._session
        if spark is not None and not spark.sparkContext._jsc.sc().isStopped():
            return spark
        import atexit
        import tempfile

        if cls._scratch is None:
            cls._scratch = tempfile.mkdtemp(prefix="fairdebt-spark-", dir=os.environ.get("FAIRDEBT_SPARK_TMP") or None)
            atexit.register(stop_spark)
        scratch = cls._scratch
        master = os.environ.get("FAIRDEBT_SPARK_MASTER", "local[2]")
        partitions = os.environ.get("FAIRDEBT_SPARK_PARTITIONS", "2")
        active = SparkSession.getActiveSession()
        cls._owned = active is None
        builder = (
            SparkSession.builder.master(master)
            .appName("fairdebt-linkage")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.local.dir", os.path.join(scratch, "local"))
            .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))
            .config("spark.jars.ivy", os.path.join(scratch, "ivy"))  # never ~/.ivy2; nothing is fetched
            .config("spark.sql.shuffle.partitions", partitions)
            .config("spark.default.parallelism", partitions)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.adaptive.enabled", "true")
        )
        if master.startswith("local"):  # loopback only: nothing listens beyond this machine
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        if os.environ.get("FAIRDEBT_SPARK_DRIVER_MEMORY"):
            builder = builder.config("spark.driver.memory", os.environ["FAIRDEBT_SPARK_DRIVER_MEMORY"])
        spark = builder.getOrCreate() if active is None else active
        spark.conf.set("spark.sql.shuffle.partitions", partitions)
        spark.sparkContext.setCheckpointDir(os.path.join(scratch, "checkpoints"))
        if cls._owned:
            spark.sparkContext.setLogLevel("ERROR")
        cls._session = spark
        return spark

    def db_api(self):
        from splink import SparkAPI

        spark = self.session()
        # Intermediate tables (blocked pairs, comparison vectors, predictions) are written to parquet
        # in the scratch directory, which breaks Spark's lineage (Splink's default off Databricks).
        api = SparkAPI(spark_session=spark, break_lineage_method=os.environ.get("FAIRDEBT_SPARK_LINEAGE", "parquet"),
                       register_udfs_automatically=False,
                       num_partitions_on_repartition=max(1, int(spark.conf.get("spark.sql.shuffle.partitions"))))
        api.fairdebt_views_before = {t.name for t in spark.catalog.listTables() if t.isTemporary}
        return api

    # register: as for DuckDB (Splink hands the Arrow table to spark.createDataFrame, which takes Arrow on Spark 4)

    def to_polars(self, sdf) -> pl.DataFrame:
        return pl.from_arrow(sdf.as_spark_dataframe().toArrow())  # Spark >= 4

    def close(self, db_api) -> None:
        """Drop the temporary views this run made (the session stays for the next run)."""
        try:
            spark = db_api.spark
            before = getattr(db_api, "fairdebt_views_before", set())
            for table in spark.catalog.listTables():
                if table.isTemporary and table.name not in before:
                    spark.catalog.dropTempView(table.name)
        except Exception:  # pragma: no cover - best effort
            pass


def stop_spark() -> None:
    """Stop the linkage SparkSession, if this module started one, and remove its scratch directory."""
    import shutil

    spark, SparkEngine._session = SparkEngine._session, None
    if spark is not None and SparkEngine._owned:
        try:
            spark.stop()
        except Exception:  # pragma: no cover - best effort
            pass
    if SparkEngine._scratch is not None:
        shutil.rmtree(SparkEngine._scratch, ignore_errors=True)
        SparkEngine._scratch = None


def engine(name: str | None = None) -> Engine:
    """The backend named by `name`, else by $FAIRDEBT_BATCH_ENGINE, else DuckDB."""
    chosen = (name or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if chosen == "duckdb":
        return Engine()
    if chosen == "spark":
        return SparkEngine()
    raise ValueError(f"unknown batch engine {chosen!r}: use 'duckdb' or 'spark' ({ENGINE_ENV})")


# ---------------------------------------------------------------------------------------- input
def parties_frame(records: Iterable[dict], tokeniser: identity.Tokeniser, *, all_records: bool = False,
                  every_address: bool = False) -> pl.DataFrame:
    """Tokenise canonical records (party_id, system, party_ref + identifier fields) into the
    frame linkage takes: party_id, system, party_ref, token_key_id and the tok_* columns.

    A party_id given more than once keeps its first record, unless `every_address`: then its first
    record once per distinct address of its records, previous and forwarding addresses included
    (what ingest keeps, Party and PartyAddress, and people.linking.parties_frame hands over), or
    `all_records`: every distinct record of the party, once per address it gives.
    """
    rows: list[dict] = []
    seen: set = set()
    first: dict[int, dict] = {}
    for record in records:
        party_id = int(record["party_id"])
        tokens = tokeniser.tokenise(record)
        variants = [tokens]
        if all_records or every_address:
            base = tokens if all_records else first.setdefault(party_id, tokens)
            variants = [base | tokeniser.tokenise_address(place) for _, place in identity.record_addresses(record)]
        for tokens in variants:
            key = (party_id, *(tokens[c] for c in TOKEN_COLUMNS)) if (all_records or every_address) else party_id
            if key in seen:
                continue
            seen.add(key)
            row = {"party_id": party_id, "system": str(record["system"]), "party_ref": str(record["party_ref"]),
                   "token_key_id": tokeniser.key_id}
            row.update({c: tokens[c] for c in TOKEN_COLUMNS})
            rows.append(row)
    schema = {"party_id": pl.Int64, "system": pl.Utf8, "party_ref": pl.Utf8, "token_key_id": pl.Utf8,
              **{c: pl.Utf8 for c in TOKEN_COLUMNS}}
    return pl.DataFrame(rows, schema=schema, orient="row")


def linkage_input(parties: pl.DataFrame, accounts: pl.DataFrame | None = None) -> pl.DataFrame:
    """The frame that reaches Splink: record_id, party_id, system and the token columns
    (LINKAGE_COLUMNS), nothing else; one row per distinct record of a party.

    A party may come with several records (rows with the same party_id: the addresses of its
    accounts, say); a party with joint account holders (`accounts`) gets its records once per
    joint holder's name (tok_co_holder, see co_holders). Refuses raw identifiers outright, and
    tokens made under different keys (they never agree).
    """
    raw = [c for c in parties.columns if c in identity.IDENTIFIER_FIELDS]
    if raw:
        raise ValueError(f"linkage works on keyed tokens only; drop the raw identifier column(s) {', '.join(raw)}")
    if "party_id" not in parties.columns:
        raise ValueError("parties need a party_id column")
    if "token_key_id" in parties.columns:
        keys = parties["token_key_id"].drop_nulls().unique().to_list()
        if len(keys) > 1:
            raise ValueError(f"tokens made under different keys ({', '.join(sorted(keys))}) cannot be compared: "
                             "re-tokenise under one key before linking")
    missing = [c for c in TOKEN_COLUMNS if c not in parties.columns]
    frame = parties.with_columns([pl.lit(None, pl.Utf8).alias(c) for c in missing])
    if "system" not in frame.columns:
        frame = frame.with_columns(pl.lit("", pl.Utf8).alias("system"))
    frame = frame.select(
        pl.col("party_id").cast(pl.Int64),
        pl.col("system").cast(pl.Utf8),
        *[pl.when(pl.col(c).cast(pl.Utf8) == "").then(None).otherwise(pl.col(c).cast(pl.Utf8)).alias(c) for c in TOKEN_COLUMNS],
    ).unique()
    # A set of tokens (SLIP_COLUMNS) is compared as a list: does any token agree?
    frame = frame.with_columns([pl.col(c).str.split(" ") for c in SLIP_COLUMNS])
    if frame.select(pl.col("system").n_unique().over("party_id") > 1).to_series().any():
        raise ValueError("a party_id's records must all come from one system")
    holders = co_holders(frame, accounts)
    if holders.height:
        frame = frame.join(holders, on="party_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(CO_HOLDER))
    # Record ids follow the records' content, not the order they came in: a rerun gives the same ids.
    frame = frame.sort(["party_id", *LINKAGE_COLUMNS], nulls_last=False)
    return frame.with_row_index(RECORD_ID, offset=1).select(
        pl.col(RECORD_ID).cast(pl.Int64), "party_id", "system", *LINKAGE_COLUMNS)


def co_holders(frame: pl.DataFrame, accounts: pl.DataFrame | None) -> pl.DataFrame:
    """party_id, tok_co_holder: for each party, the name of each other holder of an account it
    holds (at most MAX_CO_HOLDERS, the same ones every run).

    The name is the holder's canonical forename and Soundex surname tokens, joined (so still only
    tokens). John Smith, council tax payer with Mary Smith, and John Smith, tenant with Mary Smith,
    are more likely one man than John Smith and John Smith at two addresses: two people of one name
    are common, two couples of the same two names rarer (though not rare in a close community:
    decision 0006). `accounts`: party_id, account_id (any type), one row per holder of an account.
    """
    schema = {"party_id": pl.Int64, CO_HOLDER: pl.Utf8}
    if accounts is None or accounts.height == 0:
        return pl.DataFrame(schema=schema)
    held = _holdings(accounts).filter(pl.col("party_id").is_in(frame["party_id"].implode()))
    names = (
        frame.sort(["party_id", *TOKEN_COLUMNS], nulls_last=True)
        .group_by("party_id", maintain_order=True)
        .agg(pl.col("tok_forename_canonical").drop_nulls().first(), pl.col("tok_surname_phonetic").drop_nulls().first())
        .drop_nulls()
        .select(pl.col("party_id").alias("other"),
                pl.concat_str(["tok_forename_canonical", "tok_surname_phonetic"], separator=".").alias(CO_HOLDER))
    )
    pairs = held.join(held, on="account_id", suffix="_o").filter(pl.col("party_id") != pl.col("party_id_o"))
    out = (
        pairs.select("party_id", pl.col("party_id_o").alias("other")).unique()
        .join(names, on="other")
        .select("party_id", CO_HOLDER).unique()
        .sort("party_id", CO_HOLDER)
        .group_by("party_id", maintain_order=True).head(MAX_CO_HOLDERS)
    )
    return out.select(pl.col("party_id").cast(pl.Int64), pl.col(CO_HOLDER).cast(pl.Utf8))


def _holdings(accounts: pl.DataFrame) -> pl.DataFrame:
    if not {"party_id", "account_id"} <= set(accounts.columns):
        raise ValueError("accounts need party_id and account_id columns (one row per holder of an account)")
    return accounts.select(pl.col("party_id").cast(pl.Int64), pl.col("account_id").cast(pl.Utf8)).drop_nulls().unique()


def joint_holders(accounts: pl.DataFrame | None, party_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """(party_id_a, party_id_b), a < b: the pairs of parties that hold an account together."""
    if accounts is None or accounts.height == 0:
        return []
    held = _holdings(accounts)
    if party_ids is not None:
        held = held.filter(pl.col("party_id").is_in(pl.Series(list(party_ids), dtype=pl.Int64).implode()))
    pairs = held.join(held, on="account_id", suffix="_o").filter(pl.col("party_id") < pl.col("party_id_o"))
    return list(pairs.select("party_id", "party_id_o").unique().sort("party_id", "party_id_o").iter_rows())


# ---------------------------------------------------------------------------------------- the model
# The SQL below is plain (unquoted lower-case identifiers), so one model runs on DuckDB and Spark alike.
def _eq(*cols: str) -> str:
    return " AND ".join(f"{c}_l = {c}_r" for c in cols)


def _slip(col: str) -> str:
    """The two records' sets of tokens share one (in SQL both DuckDB and Spark read)."""
    return f"cardinality(array_intersect({col}_l, {col}_r)) > 0"


def _either_null(*cols: str) -> str:
    return " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in cols)


def _level(sql: str, label: str, **extra) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(sql: str, label: str) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, "is_null_level": True}


ELSE = "ELSE"
# Both records carry the same name, near enough to share an email address made from it (J Smith,
# John Smith: jsmith@...), or the same organisation name.
SAME_NAME = (f'({_eq("tok_surname_phonetic")} AND ({_eq("tok_first_initial")} OR '
             f'(tok_forename_l IS NULL AND tok_forename_r IS NULL)))')
# Both records are at the same address.
SAME_ADDRESS = f'({_eq("tok_uprn")} OR {_eq("tok_house_postcode")})'
# Both records are in one building or one postcode.
SAME_PLACE = f'({_eq("tok_uprn")} OR {_eq("tok_house_postcode")} OR {_eq("tok_building_postcode")} OR {_eq("tok_postcode")})'

# The comparisons. Each level's label is what an explanation says when the level is reached; the
# last level of each comparison ("... differs") is disagreement and is never listed as agreement.
COMPARISONS: list[dict] = [
    {
        "output_column_name": "nino",
        "comparison_description": "NI number",
        "comparison_levels": [
            _null(_either_null("tok_nino"), "NI number missing"),
            _level(_eq("tok_nino"), "NI number", m_probability=0.95),
            _level(ELSE, "NI number differs", m_probability=0.05),
        ],
    },
    {
        "output_column_name": "dob",
        "comparison_description": "date of birth",
        "comparison_levels": [
            _null(_either_null("tok_dob"), "date of birth missing"),
            _level(_eq("tok_dob"), "date of birth", m_probability=0.9),
            _level(_eq("tok_dob_year_month"), "month and year of birth", m_probability=0.01),
            _level(_eq("tok_dob_year"), "year of birth", m_probability=0.04),
            # The day and month agree, the year does not: a year of birth typed one out, or a namesake
            # born on the same day of another year (one in 365).
            _level(_eq("tok_dob_month_day"), "day and month of birth", m_probability=0.01),
            _level(ELSE, "date of birth differs", m_probability=0.05),
        ],
    },
    {
        "output_column_name": "surname",
        "comparison_description": "surname (or organisation name)",
        "comparison_levels": [
            _null(_either_null("tok_surname"), "surname missing"),
            # An organisation's name: weighed by how common the name is (chains and franchises repeat).
            _level(f'tok_forename_l IS NULL AND tok_forename_r IS NULL AND ({_eq("tok_surname_phonetic")})',
                   "organisation name", m_probability=0.9, tf_adjustment_column="tok_surname_phonetic",
                   tf_adjustment_weight=1.0, disable_tf_exact_match_detection=True),
            # At one address a shared surname is the rule for a household, not a sign of one person.
            _level(f"{_eq('tok_surname')} AND {SAME_ADDRESS}", "surname", m_probability=0.85),
            _level(_eq("tok_surname"), "surname", m_probability=0.85, tf_adjustment_column="tok_surname",
                   tf_adjustment_weight=1.0),
            _level(_eq("tok_surname_phonetic"), "surname (phonetic)", m_probability=0.05),
            _level(_slip("tok_surname_slips"), "surname one letter out", m_probability=0.02),
            _level(ELSE, "surname differs", m_probability=0.1),
        ],
    },
    {
        "output_column_name": "forename",
        "comparison_description": "forename",
        "comparison_levels": [
            _null(_either_null("tok_forename"), "forename missing"),
            _level(_eq("tok_forename"), "forename", m_probability=0.85, tf_adjustment_column="tok_forename",
                   tf_adjustment_weight=1.0),
            _level(_eq("tok_forename_canonical"), "forename (nickname)", m_probability=0.03),
            _level(_eq("tok_forename_phonetic"), "forename (phonetic)", m_probability=0.03),
            # 'J' against 'John': tok_forename_canonical is null for a forename that is only an initial
            _level(f'{_eq("tok_first_initial")} AND ({_either_null("tok_forename_canonical")})', "forename initial",
                   m_probability=0.03),
            _level(_slip("tok_forename_slips"), "forename one letter out", m_probability=0.02),
            _level(_eq("tok_first_initial"), "first initial only", m_probability=0.02),
            _level(ELSE, "forename differs", m_probability=0.02),
        ],
    },
    {
        "output_column_name": "address",
        "comparison_description": "address",
        "comparison_levels": [
            _null(f'({_either_null("tok_postcode")}) AND ({_either_null("tok_uprn")})', "address missing"),
            _level(_eq("tok_uprn"), "UPRN", m_probability=0.5),
            _level(_eq("tok_address", "tok_postcode"), "address", m_probability=0.1),
            _level(_eq("tok_house_postcode"), "house number and postcode", m_probability=0.1),
            # One building, its flat written two ways ('Flat 3, 388 Fountayne St', '388C Fountayne St')
            # or two flats of one converted house.
            _level(_eq("tok_building_postcode"), "building number and postcode", m_probability=0.05),
            _level(_eq("tok_postcode"), "postcode", m_probability=0.03, tf_adjustment_column="tok_postcode",
                   tf_adjustment_weight=1.0),
            _level(_eq("tok_postcode_sector"), "postcode sector", m_probability=0.02),
            _level(ELSE, "address differs", m_probability=0.25),
        ],
    },
    {
        "output_column_name": "phone",
        "comparison_description": "phone",
        "comparison_levels": [
            _null(_either_null("tok_phone"), "phone missing"),
            # A household's landline: at one address a shared phone is no sign of one person.
            _level(f"{_eq('tok_phone')} AND {SAME_ADDRESS}", "phone", m_probability=0.85),
            _level(_eq("tok_phone"), "phone", m_probability=0.85, tf_adjustment_column="tok_phone", tf_adjustment_weight=1.0),
            _level(ELSE, "phone differs", m_probability=0.15),
        ],
    },
    {
        "output_column_name": "email",
        "comparison_description": "email",
        "comparison_levels": [
            _null(_either_null("tok_email"), "email missing"),
            # Two people of one name often have the same email address made from it: see CONDITIONAL_U_LEVELS.
            # Its term frequency adjusts its own u: left to Splink's detection, the adjustment would
            # start from the u of the plain equality below (never seen between random records: 1e-7)
            # and take some 8 bits off every shared mailbox.
            _level(f"{_eq('tok_email')} AND {SAME_NAME}", "email", m_probability=0.85, tf_adjustment_column="tok_email",
                   tf_adjustment_weight=1.0, disable_tf_exact_match_detection=True),
            _level(_eq("tok_email"), "email", m_probability=0.85, tf_adjustment_column="tok_email", tf_adjustment_weight=1.0),
            _level(ELSE, "email differs", m_probability=0.1),
        ],
    },
    {
        # Each holds an account with someone of the same name (see co_holders); u given the same
        # name of their own is measured on negative controls (CONDITIONAL_U_LEVELS).
        "output_column_name": "co_holder",
        "comparison_description": "joint account holder",
        "comparison_levels": [
            _null(_either_null(CO_HOLDER), "no joint account holder"),
            _level(f"{_eq(CO_HOLDER)} AND {SAME_PLACE}", "joint account holder's name", m_probability=0.6),
            # Namesakes at two addresses, each with a joint holder of one name, are as often two
            # couples with common names as one couple who moved: neutral, weighing neither way.
            _null(_eq(CO_HOLDER), "joint account holder's name (at another address)"),
            _level(ELSE, "joint account holders differ", m_probability=0.4),
        ],
    },
]
# Each level's m_probability above is a prior: where training leaves a level unobserved (small or
# sparse data), the prior stands, rather than Splink's "not observed" m of 1e-6 (which would make,
# say, an agreeing email address strong evidence of two different people).
UNOBSERVED_M = 1e-6

# Candidate pairs: every rule is an equi-join on tokens, so the work grows with the block sizes,
# not with the square of the records. Together they cover every pair that shares an identifier
# (NI number, date of birth, phone, email), an address, or a joint account holder's name; names
# alone never make a pair. (Records of one party are never paired: see _rule_sql.)
BLOCKING_RULES: list[list[str]] = [
    ["tok_nino"],
    ["tok_dob"],
    ["tok_phone"],
    ["tok_email"],
    ["tok_uprn"],
    ["tok_house_postcode"],
    ["tok_building_postcode", "tok_surname_phonetic"],
    ["tok_building_postcode", "tok_forename_canonical"],
    ["tok_postcode", "tok_surname_phonetic"],
    ["tok_postcode", "tok_forename_canonical"],
    ["tok_surname_phonetic", "tok_dob_year_month"],
    [CO_HOLDER, "tok_first_initial"],
]

# EM: each rule leaves the comparisons it does not fix free to be estimated.
TRAINING_RULES: list[list[str]] = [
    ["tok_forename_canonical", "tok_surname"],
    ["tok_dob"],
    ["tok_phone"],
]

# Deterministic rules for the prior (the chance two random records match), assumed to find this share.
PRIOR_RULES: list[list[str]] = [
    ["tok_nino"],
    ["tok_dob", "tok_surname_phonetic", "tok_first_initial"],
    ["tok_house_postcode", "tok_forename_canonical", "tok_surname"],
    ["tok_email", "tok_first_initial"],
    ["tok_phone", "tok_forename_canonical"],
]
PRIOR_RECALL = 0.85
EM_MAX_PAIRS = 3e6  # EM samples a bigger block down to about this many pairs
U_MAX_PAIRS = 5e6  # random pairs for u


def settings() -> dict:
    """The untrained Splink settings (plain JSON: comparisons and blocking rules as SQL)."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": RECORD_ID,
        "comparisons": copy.deepcopy(COMPARISONS),
        "blocking_rules_to_generate_predictions": [_rule_sql(r) for r in BLOCKING_RULES],
        "retain_matching_columns": True,  # keeps the gamma (level) columns the explanations need
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": ["party_id", "system"],
        "max_iterations": 20,
        "em_convergence": 0.001,
    }


def _rule_sql(cols: Sequence[str]) -> str:
    """An equi-join on tokens, between records of two different parties (a party's own records
    are one party already, and would teach training nothing true about two records of a person)."""
    return " AND ".join([*(f"l.{c} = r.{c}" for c in cols), "l.party_id <> r.party_id"])


def _splink_settings(model: dict) -> dict:
    """The Splink settings inside a model artefact (or a bare Splink settings dict), without the
    SQL dialect Splink stamped on it: the SQL is dialect-neutral, so the model moves between engines."""
    settings_dict = model["settings"] if isinstance(model.get("settings"), dict) else model
    out = {k: v for k, v in settings_dict.items() if k != "sql_dialect"}
    out["blocking_rules_to_generate_predictions"] = [
        {k: v for k, v in rule.items() if k != "sql_dialect"} if isinstance(rule, dict) else rule
        for rule in settings_dict.get("blocking_rules_to_generate_predictions", [])
    ]
    # A model of format /1 took one record per party, with party_id as Splink's unique id.
    out["unique_id_column_name"] = RECORD_ID
    out["additional_columns_to_retain"] = ["party_id", *[c for c in out.get("additional_columns_to_retain", []) if c != "party_id"]]
    return out


# ---------------------------------------------------------------------------------------- results
@dataclass
class LinkResult:
    clusters: pl.DataFrame  # party_id, cluster_id (the smallest party_id of the cluster, or a kept id)
    # party_id_l < party_id_r, match_weight, match_probability, agreeing (the evidence, strongest first),
    # source (model | officer), status (linked | unlinked | below threshold | refused: why), in_cluster
    pairs: pl.DataFrame
    model: dict  # {"format", "splink_version", "trained_at", "threshold", "settings": Splink settings}
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def _override_list(overrides) -> list[tuple[int, int, str, str]]:
    """Normalise (a, b, kind[, reason]) tuples; the last word on a pair wins."""
    latest: dict[tuple[int, int], tuple[str, str]] = {}
    for item in overrides or ():
        if len(item) not in (3, 4):
            raise ValueError("an override is (party_id_a, party_id_b, 'link'|'unlink'[, reason])")
        a, b, kind = int(item[0]), int(item[1]), str(item[2]).lower()
        reason = str(item[3]) if len(item) == 4 and item[3] is not None else ""
        if kind not in OVERRIDE_KINDS:
            raise ValueError(f"override kind must be 'link' or 'unlink', not {item[2]!r}")
        if a == b:
            continue
        key = (min(a, b), max(a, b))
        latest.pop(key, None)  # keep insertion order = order of the final word
        latest[key] = (kind, reason)
    return [(a, b, kind, reason) for (a, b), (kind, reason) in latest.items()]


# ---------------------------------------------------------------------------------------- link
def link(
    parties: pl.DataFrame,
    *,
    accounts: pl.DataFrame | None = None,
    overrides: Sequence[tuple] = (),
    model: dict | None = None,
    threshold: float | None = None,
    engine_name: str | None = None,
    u_max_pairs: float = U_MAX_PAIRS,
    seed: int = 1,
) -> LinkResult:
    """Cluster all parties into people.

    `parties`: one row per record of a party (usually one per party; see linkage_input).
    `accounts`: party_id, account_id, one row per holder of an account (optional): joint holders'
    names are evidence (co_holders), and two joint holders of one account are two people.
    `model`: a trained model artefact (LinkResult.model) to reuse; without one, a model is trained
    on `parties` (no labels). `overrides`: (party_id_a, party_id_b, "link"|"unlink"[, reason]),
    applied on every run, so officers' decisions survive re-runs. `threshold`: the match
    probability of a link (default: the model's, else DEFAULT_THRESHOLD).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if threshold is None:
        threshold = float((model or {}).get("threshold", DEFAULT_THRESHOLD))
    frame = linkage_input(parties, accounts)
    eng = engine(engine_name)
    from splink import Linker

    db_api = eng.db_api()
    try:
        table = eng.register(db_api, frame, "parties")
        if model is None:
            linker = Linker(table, settings(), log_level=SPLINK_LOG_LEVEL)
            _train(linker, eng, u_max_pairs=u_max_pairs, seed=seed)
            trained = _with_priors(linker.misc.save_model_to_json())
            controls = _set_conditional_u(trained, linker, eng, table.physical_name, frame.height)
            linker = Linker(table, trained, log_level=SPLINK_LOG_LEVEL)
        else:
            controls = model.get("negative_controls", {})
            linker = Linker(table, _splink_settings(model), log_level=SPLINK_LOG_LEVEL)
        timings["train_s"] = time.perf_counter() - t0
        trained = linker.misc.save_model_to_json()
        t1 = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=_floor(threshold), warning_mode="never")
        scored = _scored_pairs(eng.to_polars(predictions), trained)
        timings["predict_s"] = time.perf_counter() - t1
    finally:
        eng.close(db_api)
    t2 = time.perf_counter()
    ov = _override_list(overrides)
    clusters, pairs = _cluster(_party_facts(frame), scored, ov, threshold, joint=joint_holders(accounts))
    timings["cluster_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    artefact = model if (model is not None and "settings" in model) else _artefact(trained, threshold, controls)
    return LinkResult(clusters=clusters, pairs=pairs, model=artefact,
                      counts=_counts(frame, clusters, pairs, ov) | {"threshold": threshold}, timings=timings)


def link_new(
    existing_clusters: pl.DataFrame,
    parties: pl.DataFrame,
    new_party_ids: Iterable[int],
    model: dict,
    *,
    accounts: pl.DataFrame | None = None,
    overrides: Sequence[tuple] = (),
    threshold: float | None = None,
    engine_name: str | None = None,
) -> LinkResult:
    """Link new parties against everything with a saved model, without retraining.

    `existing_clusters`: party_id, cluster_id of the parties already clustered (a previous
    LinkResult.clusters); `parties`: all parties (their records), old and new; `accounts`: as for
    `link`, old and new. Only pairs involving a new party are scored. Existing clusters stay as
    they are (and keep their ids); a new party joins the cluster it links to, or starts its own
    (id: its smallest party_id). A new party that links two existing clusters merges them under
    the smaller cluster id.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    threshold = float(threshold if threshold is not None else model.get("threshold", DEFAULT_THRESHOLD))
    frame = linkage_input(parties, accounts)
    ov = _override_list(overrides)
    existing = existing_clusters.select(pl.col("party_id").cast(pl.Int64), pl.col("cluster_id").cast(pl.Int64))
    existing = existing.filter(pl.col("party_id").is_in(frame["party_id"].implode()))
    # Everything not yet clustered is new; so are the members of an existing cluster an officer has
    # since split with an unlink: they are linked afresh.
    fresh = set(int(x) for x in new_party_ids) | set(frame.filter(~pl.col("party_id").is_in(existing["party_id"].implode()))["party_id"].to_list())
    cluster_of = dict(existing.iter_rows())
    split = {cluster_of[a] for a, b, kind, _ in ov if kind == "unlink" and a in cluster_of and cluster_of.get(a) == cluster_of.get(b)}
    if split:
        fresh |= set(existing.filter(pl.col("cluster_id").is_in(list(split)))["party_id"].to_list())
    new_ids = pl.Series("party_id", sorted(fresh), dtype=pl.Int64)
    existing = existing.filter(~pl.col("party_id").is_in(new_ids.implode()))
    old = frame.filter(pl.col("party_id").is_in(existing["party_id"].implode()))
    new = frame.filter(pl.col("party_id").is_in(new_ids.implode()))
    eng = engine(engine_name)
    from splink import Linker

    scored_frames = []
    db_api = eng.db_api()
    try:
        everyone = eng.register(db_api, frame, "parties")
        linker = Linker(everyone, _splink_settings(model), log_level=SPLINK_LOG_LEVEL)
        for col in _tf_columns(_splink_settings(model)):
            linker.table_management.compute_tf_table(col)  # frequencies over old and new records alike
        trained = linker.misc.save_model_to_json()
        if new.height:
            new_table = eng.register(db_api, new, "new_parties")
            if old.height:
                old_table = eng.register(db_api, old, "old_parties")
                between = linker.inference.predict_between(old_table, new_table, threshold_match_probability=_floor(threshold),
                                                           warning_mode="never")
                scored_frames.append(eng.to_polars(between))
            within = linker.inference.predict_within(new_table, threshold_match_probability=_floor(threshold), warning_mode="never")
            scored_frames.append(eng.to_polars(within))
    finally:
        eng.close(db_api)
    timings["predict_s"] = time.perf_counter() - t0
    scored = (_best_per_party_pair(pl.concat([_scored_pairs(f, trained) for f in scored_frames], how="vertical"))
              if scored_frames else _scored_pairs(None, trained))
    t1 = time.perf_counter()
    clusters, pairs = _cluster(_party_facts(frame), scored, ov, threshold, existing=existing, joint=joint_holders(accounts))
    timings["cluster_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - t0
    return LinkResult(clusters=clusters, pairs=pairs, model=model, timings=timings,
                      counts=_counts(frame, clusters, pairs, ov) | {"threshold": threshold, "new_parties": int(new["party_id"].n_unique())})


def _floor(threshold: float) -> float:
    """Pairs are scored down to here, so the ones just under the threshold are reported as near misses."""
    return max(0.0, min(threshold, NEAR_MISS_FLOOR))


def _tf_columns(splink_settings: dict) -> list[str]:
    cols = []
    for comparison in splink_settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            col = level.get("tf_adjustment_column")
            if col and col not in cols:
                cols.append(col)
    return cols


def _train(linker, eng: Engine, *, u_max_pairs: float, seed: int) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match([_rule_sql(r) for r in PRIOR_RULES], recall=PRIOR_RECALL)
    # Every sampled pair is counted (no early stop once each level has been seen 100 times, Splink's
    # default, which makes u depend on how the sample was cut into chunks).
    training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed, num_chunks=eng.u_chunks,
                                              min_count_per_level=None)
    for rule in TRAINING_RULES:
        training.estimate_parameters_using_expectation_maximisation(
            _rule_sql(rule), estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS
        )


_SAME_PLACE_LR = ("coalesce(l.tok_uprn = r.tok_uprn OR l.tok_house_postcode = r.tok_house_postcode OR "
                  "l.tok_building_postcode = r.tok_building_postcode OR l.tok_postcode = r.tok_postcode, FALSE)")
_NOT_SAME_UPRN = "(l.tok_uprn IS NULL OR r.tok_uprn IS NULL OR l.tok_uprn <> r.tok_uprn)"
# Levels whose u is measured on negative controls (see _set_conditional_u): comparison, index of the
# level among the non-null levels, the pairs it is conditional on (SQL on l and r), and what agrees.
CONDITIONAL_U_LEVELS = [
    ("email", 0, "l.tok_surname_phonetic = r.tok_surname_phonetic AND (l.tok_first_initial = r.tok_first_initial "
                 "OR (l.tok_forename IS NULL AND r.tok_forename IS NULL))", "tok_email"),
    ("surname", 1, "l.tok_uprn = r.tok_uprn", "tok_surname"),
    ("surname", 1, f"l.tok_house_postcode = r.tok_house_postcode AND {_NOT_SAME_UPRN}", "tok_surname"),
    ("phone", 0, "l.tok_uprn = r.tok_uprn", "tok_phone"),
    ("phone", 0, f"l.tok_house_postcode = r.tok_house_postcode AND {_NOT_SAME_UPRN}", "tok_phone"),
    # Two Mohammed Ahmeds may both hold an account with a Fatima Begum: measured among namesakes.
    ("co_holder", 0, f"l.tok_surname = r.tok_surname AND l.tok_forename = r.tok_forename AND {_SAME_PLACE_LR}", CO_HOLDER),
]
NEGATIVE_CONTROL_SAMPLE = 60_000  # records on the left of a negative-control join, at most
# Certainly two different people: different NI numbers, or different years of birth (and a
# different day and month: the same birthday in another year is as likely a year typed wrong).
DIFFERENT_PEOPLE = ("((l.tok_nino IS NOT NULL AND r.tok_nino IS NOT NULL AND l.tok_nino <> r.tok_nino) OR "
                    "(l.tok_dob_year IS NOT NULL AND r.tok_dob_year IS NOT NULL AND l.tok_dob_year <> r.tok_dob_year "
                    "AND (l.tok_dob_month_day IS NULL OR r.tok_dob_month_day IS NULL "
                    "OR l.tok_dob_month_day <> r.tok_dob_month_day)))")


def _set_conditional_u(trained: dict, linker, eng: Engine, table_name: str, n_records: int) -> dict:
    """Set u of the levels that are conditional on other agreement, from negative controls.

    Fellegi-Sunter treats comparisons as independent given match status, and for some pairs of
    different people that fails badly: two people with the same name often share an email address
    made from it (jo.smith@...), and people at one address often share a surname (a household).
    Random pairs would put u of such a level far too low. So u is measured among pairs in that
    situation that are certainly different people (their NI numbers, or their years of birth,
    differ): no labels needed. The equi-join is sampled on the left to bound the work.
    """
    step = max(1, -(-n_records // NEGATIVE_CONTROL_SAMPLE))
    counts: dict[tuple[str, int], list[int]] = {}
    for name, index, condition, col in CONDITIONAL_U_LEVELS:
        first, *rest = [c.strip() for c in condition.split(" AND ", 1)]
        sql = f"""
            SELECT count(CASE WHEN l.{col} IS NOT NULL AND r.{col} IS NOT NULL THEN 1 END) AS n,
                   count(CASE WHEN l.{col} = r.{col} THEN 1 END) AS k
            FROM {table_name} AS l JOIN {table_name} AS r ON {first} AND l.party_id <> r.party_id
            WHERE l.party_id % {step} = 0 AND {rest[0] if rest else 'TRUE'} AND {DIFFERENT_PEOPLE}
        """
        row = eng.to_polars(linker.misc.query_sql(sql)).row(0, named=True)
        total = counts.setdefault((name, index), [0, 0])
        total[0] += int(row["n"])
        total[1] += int(row["k"])
    comparisons = {c["output_column_name"]: c for c in trained["comparisons"]}
    out: dict[str, dict] = {}
    for (name, index), (n, k) in counts.items():
        if n == 0:
            continue  # no such pairs here (no joint holders given, say): random sampling's u stands
        levels = [lv for lv in comparisons[name]["comparison_levels"] if not lv.get("is_null_level")]
        u = (k + 0.5) / (n + 1.0)
        levels[index]["u_probability"] = u
        out[f"{name}[{index}] {levels[index]['label_for_charts']}"] = {"pairs": n, "agreeing": k, "u": u, "sample_step": step}
    return out


def _with_priors(trained: dict) -> dict:
    """Put the prior m back on every level training left unobserved (see COMPARISONS)."""
    priors = {(c["output_column_name"], i): lv.get("m_probability")
              for c in COMPARISONS for i, lv in enumerate(c["comparison_levels"])}
    for comparison in trained["comparisons"]:
        for i, level in enumerate(comparison["comparison_levels"]):
            if level.get("is_null_level"):
                continue
            m = level.get("m_probability")
            if not isinstance(m, (int, float)) or m <= UNOBSERVED_M:
                level["m_probability"] = priors.get((comparison["output_column_name"], i)) or 0.01
            u = level.get("u_probability")
            if not isinstance(u, (int, float)) or u <= 0:
                level["u_probability"] = 1e-7  # never seen between two random records
    return trained


def _artefact(trained: dict, threshold: float, controls: dict | None = None) -> dict:
    import splink

    return {
        "format": MODEL_FORMAT,
        "splink_version": splink.__version__,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "threshold": threshold,
        "negative_controls": controls or {},
        "settings": trained,
    }


# ---------------------------------------------------------------------------------------- explanations
def _level_labels(splink_settings: dict) -> dict[str, dict[int, str]]:
    """gamma value -> label for every agreement level of every comparison (null and 'differs' levels left out)."""
    out: dict[str, dict[int, str]] = {}
    for comparison in splink_settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        n = len(levels)
        out[name] = {n - 1 - i: lv.get("label_for_charts", "") for i, lv in enumerate(levels) if i < n - 1}
    return out


def _scored_pairs(predictions: pl.DataFrame | None, trained: dict) -> pl.DataFrame:
    """party_id_l, party_id_r, match_weight, match_probability, agreeing (strongest evidence first):
    one row per pair of parties, from the best-scored pair of their records."""
    schema = {"party_id_l": pl.Int64, "party_id_r": pl.Int64, "match_weight": pl.Float64,
              "match_probability": pl.Float64, "agreeing": pl.Utf8}
    if predictions is None or predictions.height == 0:
        return pl.DataFrame(schema=schema)
    labels = _level_labels(trained)
    parts = []
    for name, mapping in labels.items():
        gamma, mw = f"gamma_{name}", f"mw_{name}"
        if gamma not in predictions.columns:
            continue
        weight = pl.col(mw).cast(pl.Float64) if mw in predictions.columns else pl.lit(0.0)
        tf_col = f"mw_tf_adj_{name}"
        if tf_col in predictions.columns:
            weight = weight + pl.col(tf_col).cast(pl.Float64).fill_null(0.0)
        label = pl.col(gamma).replace_strict({k: v for k, v in mapping.items()}, default=None, return_dtype=pl.Utf8)
        parts.append(pl.struct(label.alias("label"), weight.alias("w")))
    frame = predictions.select(
        pl.col("party_id_l").cast(pl.Int64), pl.col("party_id_r").cast(pl.Int64),
        pl.col("match_weight").cast(pl.Float64), pl.col("match_probability").cast(pl.Float64),
        pl.concat_list(parts).alias("_ev"),
    )
    frame = frame.with_columns(
        pl.col("_ev").list.eval(pl.element().sort_by(pl.element().struct.field("w"), descending=True, maintain_order=True)
                                .struct.field("label").drop_nulls()).list.join(", ").alias("agreeing")
    ).drop("_ev")
    lo = pl.min_horizontal("party_id_l", "party_id_r")
    hi = pl.max_horizontal("party_id_l", "party_id_r")
    frame = frame.filter(pl.col("party_id_l") != pl.col("party_id_r"))
    return _best_per_party_pair(frame.with_columns(lo.alias("party_id_l"), hi.alias("party_id_r")).select(list(schema)))


def _best_per_party_pair(scored: pl.DataFrame) -> pl.DataFrame:
    """Two parties are as alike as their most alike records (ties: the first explanation in order)."""
    return (scored.sort(["party_id_l", "party_id_r", "match_weight", "agreeing"], descending=[False, False, True, False],
                        nulls_last=True)
            .unique(["party_id_l", "party_id_r"], keep="first", maintain_order=True))


# ---------------------------------------------------------------------------------------- clustering
def _party_facts(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per party, by party_id: the NI numbers, years of birth and days and months of birth its records give."""
    return (frame.group_by("party_id")
            .agg(pl.col("tok_nino").drop_nulls().unique().sort(), pl.col("tok_dob_year").drop_nulls().unique().sort(),
                 pl.col("tok_dob_month_day").drop_nulls().unique().sort())
            .sort("party_id"))


class _Forest:
    """Union-find over party positions, with per-cluster constraints."""

    def __init__(self, n: int, ninos: list[list], birth_years: list[list], birthdays: list[list] | None = None):
        self.parent = list(range(n))
        self.size = [1] * n
        self.ninos: dict[int, set] = {i: set(v) for i, v in enumerate(ninos) if v}
        self.years: dict[int, set] = {i: set(v) for i, v in enumerate(birth_years) if v}
        self.birthdays: dict[int, set] = {i: set(v) for i, v in enumerate(birthdays or ()) if v}  # day and month
        self.apart: dict[int, set[int]] = {}  # root -> positions it must never share a cluster with
        self.joint: dict[int, set[int]] = {}  # root -> positions holding an account with one of its parties

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def keep_apart(self, a: int, b: int) -> None:
        self.apart.setdefault(self.find(a), set()).add(b)
        self.apart.setdefault(self.find(b), set()).add(a)

    def joint_holders(self, a: int, b: int) -> None:
        self.joint.setdefault(self.find(a), set()).add(b)
        self.joint.setdefault(self.find(b), set()).add(a)

    def _meets(self, store: dict[int, set[int]], ra: int, rb: int) -> bool:
        for x, y in ((ra, rb), (rb, ra)):
            for other in store.get(x, ()):
                if self.find(other) == y:
                    return True
        return False

    def why_not(self, ra: int, rb: int, weight: float) -> str | None:
        """Why roots ra and rb must stay apart, or None."""
        if self._meets(self.apart, ra, rb):
            return "officer unlink"
        if weight == math.inf:
            return None  # an officer's link overrides everything but an officer's unlink
        if self._meets(self.joint, ra, rb):
            return "joint holders of one account"
        na, nb = self.ninos.get(ra), self.ninos.get(rb)
        if na and nb and na.isdisjoint(nb) and weight < NINO_CONFLICT_OVERRIDE_WEIGHT:
            return "different NI numbers"
        da, db = self.years.get(ra), self.years.get(rb)
        if da and db and da.isdisjoint(db) and weight < DOB_CONFLICT_OVERRIDE_WEIGHT:
            # Born on the same day and month: a year typed wrong is as likely as two people (the
            # model weighs it: "day and month of birth"), so it is no reason to refuse.
            ba, bb = self.birthdays.get(ra), self.birthdays.get(rb)
            if not (ba and bb and not ba.isdisjoint(bb)):
                return "different years of birth"
        return None

    def union(self, ra: int, rb: int) -> int:
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        for store in (self.ninos, self.years, self.birthdays, self.apart, self.joint):
            moved = store.pop(rb, None)
            if moved:
                store.setdefault(ra, set()).update(moved)
        return ra


def _cluster(
    parties: pl.DataFrame,
    scored: pl.DataFrame,
    overrides: list[tuple[int, int, str, str]],
    threshold: float,
    existing: pl.DataFrame | None = None,
    joint: Sequence[tuple[int, int]] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = parties["party_id"].to_list()
    pos = {pid: i for i, pid in enumerate(ids)}
    forest = _Forest(len(ids), parties["tok_nino"].to_list(), parties["tok_dob_year"].to_list(),
                     parties["tok_dob_month_day"].to_list() if "tok_dob_month_day" in parties.columns else None)
    unlinked = {(a, b) for a, b, kind, _ in overrides if kind == "unlink"}
    for a, b, kind, _ in overrides:
        if kind == "unlink" and a in pos and b in pos:
            forest.keep_apart(pos[a], pos[b])
    # Two holders of one account are two people (joint liability): only an officer can say otherwise.
    for a, b in joint:
        if a in pos and b in pos:
            forest.joint_holders(pos[a], pos[b])

    # Existing clusters (incremental linking) are taken as they are, before any new link.
    if existing is not None and existing.height:
        members = existing.filter(pl.col("party_id").is_in(pl.Series(ids).implode())).with_columns(
            pl.col("party_id").min().over("cluster_id").alias("_first")
        ).filter(pl.col("party_id") != pl.col("_first"))
        for a, b in members.select("_first", "party_id").iter_rows():
            ra, rb = forest.find(pos[a]), forest.find(pos[b])
            if ra != rb:
                forest.union(ra, rb)

    officer = [(a, b, reason) for a, b, kind, reason in overrides if kind == "link" and a in pos and b in pos]
    links = scored.filter(pl.col("match_probability") >= threshold)
    if unlinked:
        links = links.join(pl.DataFrame({"party_id_l": [a for a, _ in unlinked], "party_id_r": [b for _, b in unlinked]},
                                        schema={"party_id_l": pl.Int64, "party_id_r": pl.Int64}),
                           on=["party_id_l", "party_id_r"], how="anti")
    links = links.sort(["match_weight", "party_id_l", "party_id_r"], descending=[True, False, False])

    refused: dict[tuple[int, int], str] = {}
    for a, b, _ in officer:
        ra, rb = forest.find(pos[a]), forest.find(pos[b])
        if ra == rb:
            continue
        if forest.why_not(ra, rb, math.inf) == "officer unlink":
            # Officers' decisions contradict each other (a-b and b-c linked, a-c unlinked): the unlink wins.
            refused[(a, b)] = "officer unlink"
            continue
        forest.union(ra, rb)  # otherwise an officer's link is never refused, whatever the identifiers say
    for a, b, w in links.select("party_id_l", "party_id_r", "match_weight").iter_rows():
        ra, rb = forest.find(pos[a]), forest.find(pos[b])
        if ra == rb:
            continue
        reason = forest.why_not(ra, rb, w)
        if reason:
            refused[(a, b)] = reason
            continue
        forest.union(ra, rb)

    roots = [forest.find(i) for i in range(len(ids))]
    clusters = pl.DataFrame({"party_id": ids, "_root": roots}, schema={"party_id": pl.Int64, "_root": pl.Int64})
    if existing is not None and existing.height:
        kept = existing.join(clusters, on="party_id").group_by("_root").agg(pl.col("cluster_id").min().alias("_kept"))
        clusters = clusters.join(kept, on="_root", how="left")
    else:
        clusters = clusters.with_columns(pl.lit(None, pl.Int64).alias("_kept"))
    clusters = clusters.with_columns(
        pl.coalesce("_kept", pl.col("party_id").min().over("_root")).alias("cluster_id")
    ).select("party_id", "cluster_id").sort("party_id")

    # The pairs: every scored pair (near misses too) and every officer's decision, each with its story.
    decisions = [(a, b, kind, reason) for a, b, kind, reason in overrides if a in pos and b in pos]
    officer_frame = pl.DataFrame(
        {"party_id_l": [d[0] for d in decisions], "party_id_r": [d[1] for d in decisions],
         "_kind": [d[2] for d in decisions],
         "officer": [f"officer {kind}{': ' + reason if reason else ''}" for _, _, kind, reason in decisions]},
        schema={"party_id_l": pl.Int64, "party_id_r": pl.Int64, "_kind": pl.Utf8, "officer": pl.Utf8},
    )
    refused_frame = pl.DataFrame(
        {"party_id_l": [a for a, _ in refused], "party_id_r": [b for _, b in refused], "refused": list(refused.values())},
        schema={"party_id_l": pl.Int64, "party_id_r": pl.Int64, "refused": pl.Utf8},
    )
    cid = clusters.select("party_id", "cluster_id")
    officer_said = pl.col("officer").is_not_null()
    pairs = (
        scored.join(officer_frame, on=["party_id_l", "party_id_r"], how="full", coalesce=True)
        .join(refused_frame, on=["party_id_l", "party_id_r"], how="left")
        .join(cid.rename({"party_id": "party_id_l", "cluster_id": "_cl"}), on="party_id_l", how="left")
        .join(cid.rename({"party_id": "party_id_r", "cluster_id": "_cr"}), on="party_id_r", how="left")
        .with_columns(
            pl.when(officer_said).then(pl.lit("officer")).otherwise(pl.lit("model")).alias("source"),
            (pl.col("_cl") == pl.col("_cr")).fill_null(False).alias("in_cluster"),
            pl.when(officer_said & pl.col("agreeing").is_not_null())
            .then(pl.concat_str([pl.col("officer"), pl.lit("; model: "), pl.col("agreeing")]))
            .otherwise(pl.coalesce("officer", "agreeing")).alias("agreeing"),
            pl.when(pl.col("_kind") == "unlink").then(pl.lit("unlinked"))
            .when(pl.col("refused").is_not_null()).then(pl.concat_str([pl.lit("refused: "), pl.col("refused")]))
            .when(pl.col("_kind") == "link").then(pl.lit("linked"))
            .when(pl.col("match_probability") >= threshold).then(pl.lit("linked"))
            .otherwise(pl.lit("below threshold")).alias("status"),
        )
        .select("party_id_l", "party_id_r", "match_weight", "match_probability", "agreeing", "source", "status", "in_cluster")
        .sort("party_id_l", "party_id_r")
    )
    return clusters, pairs


def _counts(frame: pl.DataFrame, clusters: pl.DataFrame, pairs: pl.DataFrame, overrides) -> dict:
    sizes = clusters.group_by("cluster_id").len()
    return {
        "parties": clusters.height,
        "linkage_rows": frame.height,  # rows Splink compared: a party's records, once per joint holder's name
        "clusters": sizes.height,
        "multi_party_clusters": sizes.filter(pl.col("len") > 1).height,
        "largest_cluster": int(sizes["len"].max() or 0),
        "pairs_scored": pairs.height,
        "links": int((pairs["status"] == "linked").sum()),
        "links_refused": int(pairs["status"].str.starts_with("refused").sum()),
        "near_misses": int((pairs["status"] == "below threshold").sum()),
        "officer_links": sum(1 for o in overrides if o[2] == "link"),
        "officer_unlinks": sum(1 for o in overrides if o[2] == "unlink"),
    }


# ---------------------------------------------------------------------------------------- evaluation
def evaluate(clusters: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Pairwise precision and recall of clusters against the truth.

    `clusters`: party_id, cluster_id and (system, party_ref) of each party; `truth`: resident_id,
    system, party_ref. Parties missing from either side are left out.
    """
    t = truth.select(pl.col("resident_id").cast(pl.Utf8), pl.col("system").cast(pl.Utf8), pl.col("party_ref").cast(pl.Utf8))
    both = clusters.select("cluster_id", pl.col("system").cast(pl.Utf8), pl.col("party_ref").cast(pl.Utf8)).join(t, on=["system", "party_ref"])

    def pairs_of(*keys: str) -> int:
        n = both.group_by(*keys).len()["len"].cast(pl.Int64)
        return int((n * (n - 1) // 2).sum())

    predicted, true, correct = pairs_of("cluster_id"), pairs_of("resident_id"), pairs_of("cluster_id", "resident_id")
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs_true": true, "pairs_predicted": predicted,
            "pairs_correct": correct, "records": both.height}


def ceiling(parties: pl.DataFrame, truth: pl.DataFrame, accounts: pl.DataFrame | None = None) -> float:  # pragma: no cover - analysis helper for the bench
    """The best pairwise recall any linkage that never links on names alone could reach here.

    Links every true pair whose records share an identifier, an address token or (given
    `accounts`) a joint account holder's name (an oracle does the classifying), then closes
    transitively.
    """
    frame = linkage_input(parties, accounts).join(
        parties.select("party_id", "party_ref").unique("party_id"), on="party_id").join(
        truth.select("resident_id", "system", "party_ref"), on=["system", "party_ref"])
    evidence = ["tok_nino", "tok_dob", "tok_phone", "tok_email", "tok_uprn", "tok_postcode", CO_HOLDER]
    ids = frame["party_id"].unique().sort().to_list()
    pos = {p: i for i, p in enumerate(ids)}
    parent = list(range(len(ids)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for col in evidence:
        groups = frame.filter(pl.col(col).is_not_null()).group_by("resident_id", col).agg(pl.col("party_id").unique())
        for members in groups["party_id"].to_list():
            for m in members[1:]:
                ra, rb = find(pos[members[0]]), find(pos[m])
                if ra != rb:
                    parent[rb] = ra
    roots = frame.unique("party_id").select("party_id", "system", "party_ref").with_columns(
        pl.col("party_id").replace_strict({p: find(pos[p]) for p in ids}, return_dtype=pl.Int64).alias("cluster_id"))
    return evaluate(roots, truth)["recall"]


def model_summary(model: dict) -> list[dict]:
    """Each comparison level's m, u and match weight, for review of a trained model."""
    out = []
    for comparison in _splink_settings(model)["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            out.append({"comparison": comparison["output_column_name"], "level": level.get("label_for_charts"),
                        "m": m, "u": u, "match_weight": weight})
    return out
