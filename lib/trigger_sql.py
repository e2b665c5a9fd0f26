"""Builders of the SQL text the apps' `triggers.py` declare (lib.pgtriggers):
the PL/pgSQL wrapper of a trigger function, a function that only refuses, and
CREATE TRIGGER in its few forms. Each writes the same text the modules wrote
by hand, so what the database holds does not change
(tests/lib/test_app_triggers.py compares the installed bodies)."""

from __future__ import annotations

from collections.abc import Iterable

from lib.pgtriggers import Function, Trigger


def plpgsql(name: str, body: str) -> Function:
    """The trigger function `name()`; `body` is what stands between the `$$`
    (DECLARE ... BEGIN ... END, each on its own line)."""
    return Function(
        f"{name}()",
        f"\nCREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $${body}$$ LANGUAGE plpgsql;\n",
    )


def refusal(name: str, message: str, *args: str, errcode: str) -> Function:
    """A trigger function that only raises `message` (with `args` for its `%`)."""
    values = "".join(f", {arg}" for arg in args)
    return plpgsql(
        name,
        f"""
BEGIN
    RAISE EXCEPTION '{message}'{values}
        USING ERRCODE = '{errcode}';
END
""",
    )


def columns(record: str, names: Iterable[str]) -> str:
    """`(OLD.a, OLD.b, ...)`: a record's columns, for one row comparison."""
    return "(" + ", ".join(f"{record}.{name}" for name in names) + ")"


def changed(names: Iterable[str]) -> str:
    """True when any of the columns `names` changes in an UPDATE."""
    names = tuple(names)
    return f"{columns('OLD', names)}\n        IS DISTINCT FROM {columns('NEW', names)}"


def trigger(
    name: str,
    table: str,
    when_fired: str,
    function: str,
    *,
    each: str = "ROW",
    referencing: str = "",
    condition: str = "",
    deferred: bool = False,
) -> Trigger:
    """CREATE TRIGGER `name` `when_fired` ("BEFORE UPDATE OR DELETE", ...) ON `table`,
    FOR EACH `each` (ROW or STATEMENT), running `function()`; with `referencing`
    (transition tables), a WHEN `condition`, or as a constraint trigger checked at
    commit (`deferred`)."""
    lines = [
        f"CREATE {'CONSTRAINT ' if deferred else ''}TRIGGER {name}",
        f"{when_fired} ON {table}",
    ]
    if deferred:
        lines.append("DEFERRABLE INITIALLY DEFERRED")
    if referencing:
        lines.append(f"REFERENCING {referencing}")
    if condition:
        lines += [
            f"FOR EACH {each} WHEN (\n        {condition}\n    )",
            f"EXECUTE FUNCTION {function}();",
        ]
    else:
        lines.append(f"FOR EACH {each} EXECUTE FUNCTION {function}();")
    return Trigger(name, table, "\n" + "\n    ".join(lines) + "\n")


def on_each_statement(name: str, table: str, when_fired: str, function: str) -> Trigger:
    """A statement-level trigger reading the statement's rows as `new_rows` (and,
    on UPDATE, the rows before as `old_rows`)."""
    tables = "OLD TABLE AS old_rows NEW TABLE AS new_rows" if "UPDATE" in when_fired else ""
    return trigger(
        name,
        table,
        when_fired,
        function,
        each="STATEMENT",
        referencing=tables or "NEW TABLE AS new_rows",
    )
