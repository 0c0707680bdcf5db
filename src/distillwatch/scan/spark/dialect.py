"""DuckDB SQL in, Spark SQL out: SQLGlot's transpiler plus the fixes it cannot know.

The aggregate, link-key and output queries are written once, in DuckDB's dialect
(:mod:`distillwatch.features.sql`, :mod:`distillwatch.features.keys`,
:mod:`distillwatch.scan.outputs`). SQLGlot translates most of them to Spark as they are; the
few places where a DuckDB function has no Spark twin of the same meaning are fixed here, in
one place, each by a small tree transform (none of them edits a query by hand):

=========================================  ==============================================
DuckDB                                     Spark
=========================================  ==============================================
``epoch(ts)``: seconds *with* fraction     ``unix_micros(ts) / 1e6`` (SQLGlot writes
                                           ``unix_timestamp``, which drops the fraction:
                                           every gap under a second would become 0)
``1.0`` (decimal; mixed into doubles)      ``CAST(1.0 AS DOUBLE)``: Spark keeps decimal
                                           arithmetic, so ``avg(CASE ... 1.0 ...)`` would
                                           round every share to 5 places
``hash(x)`` (64 bits)                      ``xxhash64(x)``: Spark's ``hash`` has 32 bits.
                                           Other values than DuckDB's; the queries only
                                           group and count distinct on them (and order the
                                           analyst's sample prompts by them: those may
                                           differ between engines)
``list_slice(l, a, b)`` / ``l[a:b]``       ``slice(l, a, b - a + 1)`` (of a split from
                                           the start: the split stops after ``b`` pieces)
``list(v ORDER BY k DESC, v)``             ``transform(array_sort(collect_list(struct),
                                           comparator), s -> s.v)`` (SQLGlot drops the
                                           ORDER BY)
``CAST(template_id AS VARCHAR)``           the unsigned decimal text: Spark has no 64-bit
                                           unsigned type, so ``template_id`` and ``lsh_*``
                                           travel as ``bigint`` with the same bits
                                           (:data:`UNSIGNED_COLUMNS`); ``printf('%x')`` of
                                           them is already the same in both
``agg(x) OVER (PARTITION BY k)`` (no       a join with ``SELECT k, agg(x) ... GROUP BY k``
ORDER BY) in a plain ``SELECT``            (null-safe on ``k``): the same value, but Spark
                                           runs a window in one task per key -- for
                                           ``PARTITION BY model`` a few tasks holding
                                           every request of a model
``count(DISTINCT x)``                       ``size(collect_set(x))``: the same number (both
                                           skip nulls), but Spark plans several DISTINCT
                                           aggregates of one query by copying every row
                                           once per distinct column (15 copies for the
                                           account features: most of their time)
=========================================  ==============================================

Statements that are not queries become a :class:`Statement` for
:class:`~distillwatch.scan.spark.connection.SparkConnection` to carry out: ``SET TimeZone``
is the session time zone, ``CREATE TEMP TABLE`` is written to Parquet and read back (DuckDB
materialises it too), ``COPY (...) TO 'file'`` writes that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp

#: Columns that hold unsigned 64-bit values in the requests table (``signals.OUTPUT_SCHEMA``).
UNSIGNED_COLUMNS = frozenset({"template_id", "lsh_0", "lsh_1", "lsh_2", "lsh_3"})

StatementKind = Literal["query", "view", "table", "copy", "conf", "ignore"]


@dataclass(frozen=True)
class Statement:
    """One DuckDB statement as Spark carries it out.

    ``sql`` is the Spark query (for ``query``, ``view``, ``table`` and ``copy``); ``name`` the
    view or table to create, the file to write, or the configuration key; ``value`` the
    configuration value.
    """

    kind: StatementKind
    sql: str = ""
    name: str = ""
    value: str = ""


def _double(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name.lower()
        if "." in text or "e" in text:
            return exp.Cast(this=node.copy(), to=exp.DataType.build("double"))
    return node


def _epoch(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="unix_micros", expressions=[node.this.copy()])
        double = exp.DataType.build("double")
        return exp.Div(
            this=exp.Cast(this=micros, to=double),
            expression=exp.Cast(this=exp.Literal.number(1_000_000), to=double.copy()),
        )
    return node


def _anonymous(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.Anonymous):
        return node
    name = node.name.lower()
    if name == "hash":
        return exp.Anonymous(this="xxhash64", expressions=[e.copy() for e in node.expressions])
    if name == "list_slice":
        items, first, last = (e.copy() for e in node.expressions)
        return _slice(items, first, last)
    return node


def _slice(items: exp.Expr, first: exp.Expr, last: exp.Expr) -> exp.Expr:
    """DuckDB's 1-based, inclusive ``[first:last]`` as Spark's ``slice(items, start, length)``.

    The first ``n`` pieces of a split are those of a split into at most ``n + 1`` pieces, and
    Java's regex split stops there (a prompt's first words, not all of them: the frame)."""
    if (
        isinstance(items, exp.Split)
        and first.is_int
        and last.is_int
        and int(first.name) == 1
        and not items.args.get("limit")
    ):
        whole = items.sql("spark")  # SPLIT(text, pattern)
        items = sqlglot.parse_one(f"{whole[:-1]}, {int(last.name) + 1})", read="spark")
    span = exp.Sub(this=last, expression=first.copy())
    length = exp.Add(this=span, expression=exp.Literal.number(1))
    return exp.Anonymous(this="slice", expressions=[items, first, length])


def _bracket_slice(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        part = node.expressions[0]
        if isinstance(part, exp.Slice):
            return _slice(node.this.copy(), part.this.copy(), part.expression.copy())
    return node


def _unsigned_text(node: exp.Expr) -> exp.Expr:
    if (
        isinstance(node, exp.Cast)
        and node.to.is_type(*exp.DataType.TEXT_TYPES)
        and isinstance(node.this, exp.Column)
        and node.this.name in UNSIGNED_COLUMNS
    ):
        column = node.this.sql("spark")
        return sqlglot.parse_one(
            f"CAST(CAST({column} AS DECIMAL(20, 0)) + CASE WHEN {column} < 0 "
            f"THEN CAST(18446744073709551616 AS DECIMAL(20, 0)) ELSE 0 END AS STRING)",
            read="spark",
        )
    return node


def _distinct_count(node: exp.Expr) -> exp.Expr:
    if (
        isinstance(node, exp.Count)
        and isinstance(node.this, exp.Distinct)
        and len(node.this.expressions) == 1
    ):
        values = exp.Anonymous(this="collect_set", expressions=[node.this.expressions[0].copy()])
        size = exp.Anonymous(this="size", expressions=[values])
        return exp.Cast(this=size, to=exp.DataType.build("bigint"))  # count's type
    return node


def _ordered_list(node: exp.Expr) -> exp.Expr:
    if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)):
        return node
    value = node.this.this.sql("spark")
    keys = list(node.this.expressions)
    fields = ", ".join(f"'k{i}', {o.this.sql('spark')}" for i, o in enumerate(keys))
    tests = []
    for i, o in enumerate(keys):
        before = 1 if o.args.get("desc") else -1  # comparator result when l.k < r.k
        null = -1 if o.args.get("nulls_first") else 1  # when only l.k is null
        left, right = f"l.k{i}", f"r.k{i}"
        tests.append(
            f"WHEN {left} IS NULL AND {right} IS NOT NULL THEN {null} "
            f"WHEN {left} IS NOT NULL AND {right} IS NULL THEN {-null} "
            f"WHEN {left} < {right} THEN {before} WHEN {left} > {right} THEN {-before}"
        )
    comparator = f"(l, r) -> CASE {' '.join(tests)} ELSE 0 END"
    return sqlglot.parse_one(
        f"transform(array_sort(collect_list(named_struct({fields}, 'v', {value})), "
        f"{comparator}), s -> s.v)",
        read="spark",
    )


def _plain_select(node: exp.Expr) -> bool:
    """A ``SELECT`` over one table with nothing that acts before its windows."""
    return (
        isinstance(node, exp.Select)
        and isinstance(node.args.get("from_"), exp.From)
        and isinstance(node.args["from_"].this, exp.Table)
        and not any(
            node.args.get(key)
            for key in ("joins", "where", "group", "having", "qualify", "distinct", "laterals")
        )
    )


def _whole_partition(node: exp.Expr) -> bool:
    """An aggregate over a whole window partition (no order, no frame)."""
    return (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.AggFunc)
        and bool(node.args.get("partition_by"))
        and not node.args.get("order")
        and not node.args.get("spec")
    )


def _partition_join(node: exp.Expr) -> exp.Expr:
    if not _plain_select(node):
        return node
    windows = [
        (i, p)
        for i, p in enumerate(node.expressions)
        if isinstance(p, exp.Alias) and _whole_partition(p.this)
    ]
    if not windows:
        return node
    table = node.args["from_"].this
    rows = table.alias_or_name
    source = f"{table.this.sql('spark')} AS {rows}"
    projections = [p.sql("spark") for p in node.expressions]
    joins = []
    for n, (i, projection) in enumerate(windows):
        window, name = projection.this, f"__w{n}"
        keys = [k.sql("spark") for k in window.args["partition_by"]]
        grouped = ", ".join(f"{k} AS __k{j}" for j, k in enumerate(keys))
        on = " AND ".join(f"{rows}.{k} <=> {name}.__k{j}" for j, k in enumerate(keys))
        joins.append(
            f"LEFT JOIN (SELECT {grouped}, {window.this.sql('spark')} AS __v "
            f"FROM {table.this.sql('spark')} GROUP BY {', '.join(keys)}) AS {name} ON {on}"
        )
        projections[i] = f"{name}.__v AS {projection.alias}"
    projections = [f"{rows}.*" if p == "*" else p for p in projections]
    return sqlglot.parse_one(
        f"SELECT {', '.join(projections)} FROM {source} {' '.join(joins)}", read="spark"
    )


#: Applied to each node in this order: later fixes see the literals already made doubles.
_TRANSFORMS = (
    _double,
    _epoch,
    _anonymous,
    _unsigned_text,
    _distinct_count,
    _ordered_list,
    _bracket_slice,
    _partition_join,
)


def _fix(node: exp.Expr) -> exp.Expr:
    for transform in _TRANSFORMS:
        node = transform(node)
    return node


def spark_tree(tree: exp.Expr) -> exp.Expr:
    """``tree`` (parsed as DuckDB) with every fix of the module docstring applied.

    Children before parents (``hash(list_slice(...))`` needs both fixes, and a fix builds
    its node from its children as they are then)."""
    tree = tree.copy()
    for node in reversed(list(tree.walk(bfs=False))):
        fixed = _fix(node)
        if fixed is not node:
            if node is tree:
                tree = fixed
            else:
                node.replace(fixed)
    return tree


def spark_query(tree: exp.Expr) -> str:
    """The Spark SQL text of a DuckDB query tree."""
    return spark_tree(tree).sql(dialect="spark")


def to_spark(sql: str) -> Statement:
    """One DuckDB statement (as the feature and output code issues them) for Spark."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if isinstance(tree, exp.Set):
        item = tree.expressions[0].this if tree.expressions else None
        if isinstance(item, exp.EQ) and item.this.name.lower() == "timezone":
            return Statement("conf", name="spark.sql.session.timeZone", value=item.expression.name)
        return Statement("ignore")  # memory limits and the like: Spark is configured apart
    if isinstance(tree, exp.Create) and tree.expression is not None:
        name = tree.this.name
        query = spark_query(tree.expression)
        kind = str(tree.args.get("kind", "")).upper()
        return Statement("table" if kind == "TABLE" else "view", query, name)
    if isinstance(tree, exp.Copy):
        target = tree.args["files"][0].name
        query = tree.this.this if isinstance(tree.this, exp.Subquery) else tree.this
        return Statement("copy", spark_query(query), target)
    return Statement("query", spark_query(tree))


def transpile(sql: str) -> str:
    """The Spark SQL of one DuckDB query (a ``SELECT`` or ``WITH``)."""
    return spark_query(sqlglot.parse_one(sql, read="duckdb"))


__all__ = ["UNSIGNED_COLUMNS", "Statement", "spark_tree", "to_spark", "transpile"]
