"""Persistence: SQLAlchemy 2 async models, engine setup, repositories and Alembic
migrations. One schema serves SQLite (embedded default) and PostgreSQL."""
