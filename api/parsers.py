"""The API's JSON parser: DRF's, refusing bodies nested deeper than any
request needs. Python's JSON decoder recurses, so a body of a hundred thousand
brackets raised RecursionError (a 500); a body nested a few hundred levels
parsed, and then every walk over it (validation, error rendering) recursed."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The deepest request body is three levels ({"lines": [{...}]}).
MAX_DEPTH = 32


def nesting_exceeds(data: object, limit: int) -> bool:
    """Whether lists and objects in `data` nest deeper than `limit` (walked
    with a stack, not recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not nesting_exceeds(data, MAX_DEPTH):
                return data
        raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
