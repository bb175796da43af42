"""Each process of a parallel run (pytest-xdist) gets test databases of its own
(tests/services.py), so tests running at once never share one."""

from __future__ import annotations

from tests.services import postgres_url_for, redis_url_for, worker_number


def test_one_process_uses_the_configured_databases() -> None:
    base = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    assert postgres_url_for(base, "") == base
    assert redis_url_for("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"


def test_each_worker_has_its_own_postgres_and_redis_database() -> None:
    base = "postgresql+asyncpg://aduan:s3cret@db.example:5433/test"
    urls = {postgres_url_for(base, f"gw{n}") for n in range(8)}
    assert len(urls) == 8
    assert (
        postgres_url_for(base, "gw2")
        == "postgresql+asyncpg://aduan:s3cret@db.example:5433/test_gw2"
    )
    redis = [redis_url_for("redis://127.0.0.1:6379/15", f"gw{n}") for n in range(8)]
    assert redis[:3] == [
        "redis://127.0.0.1:6379/15",
        "redis://127.0.0.1:6379/14",
        "redis://127.0.0.1:6379/13",
    ]
    assert len(set(redis)) == 8
    assert redis_url_for("redis://127.0.0.1:6379/1", "gw3") == "redis://127.0.0.1:6379/14"  # wraps
    assert worker_number("gw11") == 11 and worker_number("master") == 0
