"""Storage: SQLAlchemy 2 tables, Alembic migrations and keyword-only repository functions.

``db`` opens the database through SQLAlchemy; ``published`` streams the site build's reads.
"""
