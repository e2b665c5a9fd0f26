from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.tokens import create_token


class Command(BaseCommand):
    help = "Create an API key for a user and print it (and nothing else)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the key is for.")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, username: str, name: str, expires_days: int | None, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be positive.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        _, key = create_token(user=user, name=name, expires_at=expires_at)
        self.stdout.write(key)
