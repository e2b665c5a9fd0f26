from lib.errors import DomainError


class VendorError(DomainError):
    """A refused vendor operation, naming the field and the reason."""
