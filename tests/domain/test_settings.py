"""Settings come from ``MEDCURATE_*`` variables, arguments win over them, bad values fail clearly."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.errors import ConfigError
from medcurate.settings import Settings, default_home, make_settings, settings_environment


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.names():
        monkeypatch.delenv(f"MEDCURATE_{name.upper()}", raising=False)


def test_defaults() -> None:
    settings = Settings()
    assert settings.home == default_home()
    assert settings.database == f"sqlite:///{default_home() / 'medcurate.db'}"
    assert (settings.embedding, settings.queue_url, settings.queue_name) == ("minilm", None, "medcurate")
    assert settings.allowed_hosts == ()
    assert settings.config_path == default_home() / "medcurate.toml"


def test_every_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCURATE_HOME", str(tmp_path))
    monkeypatch.setenv("MEDCURATE_DATABASE_URL", "postgresql://127.0.0.1/test")
    monkeypatch.setenv("MEDCURATE_CONFIG_FILE", str(tmp_path / "site.toml"))
    monkeypatch.setenv("MEDCURATE_EMBEDDING", "static")
    monkeypatch.setenv("MEDCURATE_QUEUE_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MEDCURATE_QUEUE_NAME", "ingest")
    monkeypatch.setenv("MEDCURATE_ALLOWED_HOSTS", '["127.0.0.1", "10.0.0.0/8"]')
    settings = Settings()
    assert settings == Settings(
        home=tmp_path,
        database_url="postgresql://127.0.0.1/test",
        config_file=tmp_path / "site.toml",
        embedding="static",
        queue_url="redis://127.0.0.1:6379/0",
        queue_name="ingest",
        allowed_hosts=("127.0.0.1", "10.0.0.0/8"),
    )
    assert settings.database == "postgresql://127.0.0.1/test"
    assert settings.config_path == tmp_path / "site.toml"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCURATE_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("MEDCURATE_DATABASE_URL", "postgresql://127.0.0.1/test")
    settings = make_settings(tmp_path / "from-flag")
    assert settings.home == tmp_path / "from-flag"
    assert settings.database_url == "postgresql://127.0.0.1/test"  # not given: still from the environment
    assert Settings(home=str(tmp_path), database_url=None).database.endswith("medcurate.db")  # type: ignore[arg-type]


def test_settings_are_frozen_and_travel_to_workers(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, allowed_hosts=["127.0.0.1"])  # type: ignore[arg-type]
    assert settings.allowed_hosts == ("127.0.0.1",)
    with pytest.raises(AttributeError):
        settings.home = tmp_path / "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(settings)) == settings  # RQ jobs carry them


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EMBEDDING", "bert", "embedding must be one of minilm, static"),
        ("ALLOWED_HOSTS", "127.0.0.1", "must be a JSON list"),
        ("ALLOWED_HOSTS", '{"host": 1}', "must be a JSON list"),
    ],
)
def test_bad_values_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"MEDCURATE_{name}", value)
    with pytest.raises(ConfigError, match=message):
        Settings()


def test_the_cli_names_a_bad_setting_and_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCURATE_EMBEDDING", "bert")
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "items", "list"])
    assert result.exit_code == 2
    assert "embedding must be one of minilm, static" in result.output
    assert "Traceback" not in result.output


def test_site_base_url_is_configured_once() -> None:
    from medcurate.config import parse_config

    config = parse_config('[site]\nbase_url = "https://news.example.org"\n')
    assert config.base_url == "https://news.example.org/"
    assert config.publishing.base_url == config.site.base_url, "older readers see the same address"
    older = parse_config('[publishing]\nbase_url = "https://old.example.org/"\n')
    assert older.site.base_url == "https://old.example.org/"
    with pytest.raises(ConfigError, match="keep only \\[site\\] base_url"):
        parse_config(
            '[site]\nbase_url = "https://a.example/"\n[publishing]\nbase_url = "https://b.example/"\n'
        )


def test_base_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCURATE_BASE_URL", "http://127.0.0.1:8001/")
    settings = Settings(home=tmp_path)
    assert settings.load_site_config().base_url == "http://127.0.0.1:8001/"
    assert settings_environment(settings)["MEDCURATE_BASE_URL"] == "http://127.0.0.1:8001/"
    monkeypatch.setenv("MEDCURATE_BASE_URL", "news.example.org")
    with pytest.raises(ConfigError, match="MEDCURATE_BASE_URL must be the site's address"):
        Settings(home=tmp_path)
