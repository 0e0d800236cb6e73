"""Storage: SQLAlchemy 2 tables, Alembic migrations and keyword-only repository functions.

``db`` opens the database through SQLAlchemy; ``direct`` reads it through a bare DB-API connection
(short read-only commands that must start fast); ``revisions`` holds the site build's two reads.
"""
