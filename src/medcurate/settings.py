"""Process settings, read once at the edge (environment, ``--home``) and passed down.

The data directory holds one site: its database, configuration, models, caches and images. It is
the per-user data directory unless ``MEDCURATE_HOME`` (or ``--home``) names another, so one machine
can hold several sites. ``MEDCURATE_DATABASE_URL`` selects PostgreSQL instead of SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from medcurate.config import CONFIG_FILE_NAME, SiteConfig, load_config


def default_home() -> Path:
    """The per-user data directory."""
    return Path(platformdirs.user_data_dir("medcurate", appauthor=False))


class Settings(BaseSettings):
    """Where a site lives and what it runs on."""

    model_config = SettingsConfigDict(env_prefix="MEDCURATE_", extra="ignore", frozen=True)

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    config_file: Path | None = None
    embedding: Literal["minilm", "static"] = Field(
        default="minilm",
        description="Suggestion embeddings: the MiniLM transformer, or the static model distilled from it.",
    )
    queue_url: str | None = Field(
        default=None,
        description="A Redis URL: ingestion jobs go to an RQ queue served by `medcurate worker` processes.",
    )
    queue_name: str = "medcurate"
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Hosts or networks the SSRF guard lets through (tests, intranet sources).",
    )

    @property
    def database(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.home / 'medcurate.db'}"

    @property
    def config_path(self) -> Path:
        """The site's TOML configuration file."""
        return self.config_file or self.home / CONFIG_FILE_NAME

    @property
    def models_dir(self) -> Path:
        """Where trained suggestion models are stored, with their versions."""
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        """The HTTP cache."""
        return self.home / "cache"

    @property
    def images_dir(self) -> Path:
        """Downloaded featured images, named ``<mdName>-featuredImage.<ext>``."""
        return self.home / "images"

    def load_site_config(self) -> SiteConfig:
        """The site configuration (the bundled default until ``medcurate init`` writes one)."""
        return load_config(self.config_path)


def make_settings(home: Path | None = None) -> Settings:
    """Settings from the environment, with ``--home`` taking precedence."""
    return Settings(home=home) if home is not None else Settings()
