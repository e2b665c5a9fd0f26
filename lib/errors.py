"""The base of every app's domain error: a field, a message and a code.

Each app raises its own subclass (RefundError, VendorError, PostingError); the
API turns any of them into a 400 (409 for a refused transition) naming the
field, and admin and portal show them as form errors.
"""


class DomainError(Exception):
    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


# PostgreSQL's answers to two transactions colliding: deadlock_detected,
# serialization_failure, lock_not_available. The transaction was rolled back
# whole; running it again is safe.
COLLISION_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_collision(exc: BaseException) -> bool:
    """Whether a database error is a collision with a concurrent transaction."""
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    return code in COLLISION_SQLSTATES
