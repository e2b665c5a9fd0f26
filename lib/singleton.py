"""Models of one row (pk=1), such as settings edited in the admin."""

from __future__ import annotations

from typing import Self

from django.db import models


class SingletonModel(models.Model):
    """One row, pk=1; the concrete model's Meta also declares a CHECK (id = 1)
    so that the database refuses a second row."""

    SINGLETON_PK = 1

    class Meta:
        abstract = True

    @classmethod
    def load(cls) -> Self:
        """The row, made with its defaults on first use."""
        row, _ = cls._default_manager.get_or_create(pk=cls.SINGLETON_PK)
        return row
