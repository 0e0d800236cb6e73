"""Storage: SQLAlchemy 2 tables, Alembic migrations and keyword-only repository functions."""

from medcurate.store.db import Database, open_database

__all__ = ["Database", "open_database"]
