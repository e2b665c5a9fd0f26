"""What the API answers an upload of a bank statement or a payout report with:
the fields of cash.services.file_results.FileResult both share."""

from __future__ import annotations

from rest_framework import serializers


# No docstring: drf-spectacular would give it to each subclass's schema as its
# description.
class FileResultSerializer(serializers.Serializer):
    # The file's format and hash, and whether it was imported before (then
    # nothing was added); a subclass adds its counts and outcomes.
    format = serializers.CharField()
    file_sha256 = serializers.CharField()
    already_imported = serializers.BooleanField()
