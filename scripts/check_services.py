"""Exit 0 when PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL) answer."""

import os
import sys

import dj_database_url
import psycopg2
import redis


def main() -> int:
    ok = True
    database = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        psycopg2.connect(
            dbname="postgres",
            user=database.get("USER") or "postgres",
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or "127.0.0.1",
            port=database.get("PORT") or 5432,
            connect_timeout=5,
        ).close()
        print(f"PostgreSQL answers at {database.get('HOST')}:{database.get('PORT')}")
    except psycopg2.OperationalError as error:
        print(f"PostgreSQL does not answer: {error}".strip(), file=sys.stderr)
        ok = False
    url = os.environ["CELERY_BROKER_URL"]
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
        print(f"Redis answers at {url}")
    except redis.RedisError as error:
        print(f"Redis does not answer at {url}: {error}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
