from rest_framework import authentication, exceptions

from .tokens import find_active


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`: the key acts as its user."""

    keyword = "Token"

    def authenticate(self, request):
        # The Idempotency-Key middleware authenticates before the view does;
        # the view reuses its answer rather than look the key up again.
        cached = getattr(request._request, "_api_token_auth", None)
        if cached is not None:
            return cached
        result = super().authenticate(request)
        if result is not None:
            request._request._api_token_auth = result
        return result

    def authenticate_credentials(self, key: str):
        token = find_active(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return token.user, token
