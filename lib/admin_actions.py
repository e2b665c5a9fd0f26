"""Admin actions that run a service on each selected row, one at a time."""

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest

from lib.errors import DomainError

T = TypeVar("T")


def each_one(
    request: HttpRequest,
    targets: Iterable[T],
    service: Callable[[T], object],
    *,
    name: Callable[[T], str] = str,
    level: int = messages.ERROR,
) -> int:
    """Run `service` on each target: one the service refuses (DomainError) is told
    in a message at `level` naming it (`name`), and the others go on. Returns
    how many were done; the caller says so in its own words."""
    done = 0
    for target in targets:
        try:
            service(target)
        except DomainError as error:
            messages.add_message(request, level, f"{name(target)}: {error.message}")
        else:
            done += 1
    return done
