"""CHECK constraints that compare amounts, exact on every database.

PostgreSQL compares NUMERIC exactly. SQLite (the local default) stores
decimals as floating point, where 6.49 + 1.23 + 5.90 is not 13.62. Comparing
the amounts scaled to thousandths (the finest minor unit we keep) and rounded
gives the exact answer on both, and PostgreSQL's ROUND on NUMERIC changes
nothing there.
"""

from django.db import models
from django.db.models import Expression, F, Value
from django.db.models.functions import Round
from django.db.models.lookups import Exact, LessThanOrEqual

SCALE = Value(1000)


def _units(expression: Expression | str) -> Round:
    term = F(expression) if isinstance(expression, str) else expression
    return Round(term * SCALE)


def amounts_equal(
    lhs: Expression | str, rhs: Expression | str, name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Exact(_units(lhs), _units(rhs)), name=name)


def amount_at_most(
    lhs: Expression | str, rhs: Expression | str, name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=LessThanOrEqual(_units(lhs), _units(rhs)), name=name)
