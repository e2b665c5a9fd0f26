from rest_framework import authentication, exceptions

from .tokens import find_active


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`: the key acts as its user."""

    keyword = "Token"

    def authenticate_credentials(self, key: str):
        token = find_active(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return token.user, token
