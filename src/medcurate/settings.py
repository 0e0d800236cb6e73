"""Process settings, read once at the edge (environment, ``--home``) and passed down.

The data directory holds one site: its database, configuration, models, caches and images. It is
the per-user data directory unless ``MEDCURATE_HOME`` (or ``--home``) names another, so one machine
can hold several sites. ``MEDCURATE_DATABASE_URL`` selects PostgreSQL instead of SQLite.

A frozen dataclass read from ``MEDCURATE_*`` variables rather than pydantic-settings: every command
reads these nine values, and importing pydantic-settings (with asyncio, python-dotenv and
pydantic's plugin loader) cost each command 50 ms before it began, a tenth of a site build.
Arguments given to ``Settings(...)`` win over the environment, the environment over the defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import platformdirs

from medcurate.errors import ConfigError

if TYPE_CHECKING:
    from medcurate.config import SiteConfig

ENV_PREFIX = "MEDCURATE_"

Embedding = Literal["minilm", "static"]
EMBEDDINGS: tuple[str, ...] = get_args(Embedding)
# The same as ``medcurate.ingest.options``' defaults (not imported: httpx is slow to import).
DEFAULT_HOST_DELAY = 1.0
DEFAULT_HOST_CONCURRENCY = 2


def default_home() -> Path:
    """The per-user data directory."""
    return Path(platformdirs.user_data_dir("medcurate", appauthor=False))


def _env(name: str) -> str | None:
    return os.environ.get(ENV_PREFIX + name.upper())


def _home_from_env() -> Path:
    value = _env("home")
    return Path(value) if value else default_home()


def _optional_path_from_env(name: str) -> Path | None:
    value = _env(name)
    return Path(value) if value else None


def _allowed_hosts_from_env() -> tuple[str, ...]:
    value = _env("allowed_hosts")
    if not value:
        return ()
    try:
        hosts = json.loads(value)
    except ValueError:
        hosts = None
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ConfigError(
            f"{ENV_PREFIX}ALLOWED_HOSTS must be a JSON list of host names or networks, "
            f'such as ["127.0.0.1"]; got {value!r}'
        )
    return tuple(hosts)


def _number_from_env(name: str, default: float, *, integer: bool = False, minimum: float = 0) -> Any:
    value = _env(name)
    if value is None or value == "":
        return int(default) if integer else default
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        kind = "a whole number" if integer else "a number of seconds"
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be {kind}, {minimum:g} or more; got {value!r}")
    return number


DEFAULT_FEED_MAX_ENTRIES = 1_000


@dataclass(frozen=True)
class Settings:
    """Where a site lives and what it runs on."""

    home: Path = field(default_factory=_home_from_env)
    database_url: str | None = field(default_factory=lambda: _env("database_url") or None)
    config_file: Path | None = field(default_factory=lambda: _optional_path_from_env("config_file"))
    # Suggestion embeddings: the MiniLM transformer, or the static model distilled from it.
    embedding: Embedding = field(default_factory=lambda: cast(Embedding, _env("embedding") or "minilm"))
    # A Redis URL: ingestion jobs go to an RQ queue served by `medcurate worker` processes.
    queue_url: str | None = field(default_factory=lambda: _env("queue_url") or None)
    queue_name: str = field(default_factory=lambda: _env("queue_name") or "medcurate")
    # Hosts or networks the SSRF guard lets through (tests, intranet sources).
    allowed_hosts: tuple[str, ...] = field(default_factory=_allowed_hosts_from_env)
    # Politeness towards each news site, shared by every worker on the queue (through Redis).
    host_delay: float = field(default_factory=lambda: _number_from_env("host_delay", DEFAULT_HOST_DELAY))
    host_concurrency: int = field(
        default_factory=lambda: _number_from_env("host_concurrency", DEFAULT_HOST_CONCURRENCY, integer=True)
    )
    # Entries read from one feed per fetch (the first ones); the rest wait for the next fetch.
    feed_max_entries: int = field(
        default_factory=lambda: _number_from_env(
            "feed_max_entries", DEFAULT_FEED_MAX_ENTRIES, integer=True, minimum=1
        )
    )
    # The published site's address; unset: ``[site] base_url`` of the configuration file.
    base_url: str | None = field(default_factory=lambda: _env("base_url") or None)
    # A bearer token /metrics asks for; unset: /metrics is open (keep it off the public proxy).
    metrics_token: str | None = field(default_factory=lambda: _env("metrics_token"), repr=False)

    def __post_init__(self) -> None:
        # Callers pass strings and lists as well (tests, the demo): stored as the declared types.
        object.__setattr__(self, "home", Path(self.home))
        if self.config_file is not None:
            object.__setattr__(self, "config_file", Path(self.config_file))
        object.__setattr__(self, "allowed_hosts", tuple(self.allowed_hosts))
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{ENV_PREFIX}BASE_URL must be the site's address, such as https://news.example.org/; "
                f"got {self.base_url!r}"
            )
        if self.embedding not in EMBEDDINGS:
            raise ConfigError(
                f"embedding must be one of {', '.join(EMBEDDINGS)} ({ENV_PREFIX}EMBEDDING); "
                f"got {self.embedding!r}"
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' names; each is read from ``MEDCURATE_<NAME>``."""
        return tuple(f.name for f in fields(cls))

    @property
    def database(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.home / 'medcurate.db'}"

    @property
    def config_path(self) -> Path:
        """The site's TOML configuration file."""
        from medcurate.config import CONFIG_FILE_NAME

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
        """The site configuration (the bundled default until ``medcurate init`` writes one).

        ``MEDCURATE_BASE_URL`` (``base_url``) wins over the file's ``[site] base_url``.
        """
        from medcurate.config import load_config

        config = load_config(self.config_path)
        return config.with_base_url(self.base_url) if self.base_url else config


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``MEDCURATE_*`` variables that rebuild ``settings`` in another process."""
    values = {
        "home": str(settings.home),
        "database_url": settings.database_url or "",
        "config_file": str(settings.config_file) if settings.config_file else "",
        "embedding": settings.embedding,
        "queue_url": settings.queue_url or "",
        "queue_name": settings.queue_name,
        "allowed_hosts": json.dumps(list(settings.allowed_hosts)),
        "host_delay": repr(settings.host_delay),
        "host_concurrency": str(settings.host_concurrency),
        "feed_max_entries": str(settings.feed_max_entries),
        "base_url": settings.base_url or "",
    }
    return {ENV_PREFIX + name.upper(): value for name, value in values.items()}


def make_settings(home: Path | None = None) -> Settings:
    """Settings from the environment, with ``--home`` taking precedence."""
    return Settings(home=home) if home is not None else Settings()
