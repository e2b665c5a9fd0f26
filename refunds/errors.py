"""The refunds app's one domain error type.

Every refusal names the field it is about (a dotted path such as
`lines[1].quantity`, or `status`) and a stable machine-readable code. The API
turns it into 400 (or 409 for a refused transition); admin and portal show it as
a form error.
"""

from lib.errors import DomainError


class RefundError(DomainError):
    pass


class TransitionNotAllowed(RefundError):
    def __init__(self, case_id: str, from_status: str, to_status: str) -> None:
        super().__init__(
            "status",
            f"case {case_id} cannot move from {from_status} to {to_status}",
            code="invalid_transition",
        )
        self.from_status = from_status
        self.to_status = to_status
