"""The files a run writes before anything starts, and the services it describes (no process started)."""

from pathlib import Path

import yaml

from bot.config import load_settings
from bot.run.files import credentials_path, endpoints_path, write_config_files
from bot.run.topology import assistant_services, shell_command


def test_channels_are_served_only_when_their_secrets_are_set(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("ZALO_OA_SECRET_KEY", raising=False)
    settings = load_settings()
    write_config_files(settings)
    channels = yaml.safe_load(credentials_path(settings).read_text())
    assert set(channels) == {"bot.channels.rest.CitizenRestInput", "bot.channels.socketio.CitizenSocketIOInput"}

    monkeypatch.setenv("TELEGRAM_TOKEN", "123:secret-telegram")
    monkeypatch.setenv("ZALO_OA_SECRET_KEY", "secret-zalo")
    settings = load_settings()
    write_config_files(settings)
    text = credentials_path(settings).read_text()
    assert "TelegramInput" in text and "ZaloInput" in text
    assert "secret" not in text  # channels read their secrets from the environment


def test_describing_the_services_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    settings = load_settings()
    services = assistant_services(settings, Path("models/current.tar.gz"))
    names = {s.name for s in services}
    assert names >= {"action server", "staff analytics"} and names & {"Rasa server", "Rasa server 1"}
    assert not (tmp_path / "var").exists()


def test_the_shell_and_the_server_run_the_same_patched_rasa(monkeypatch):
    settings = load_settings()
    server = next(s for s in assistant_services(settings, Path("m.tar.gz")) if s.name.startswith("Rasa server"))
    shell = shell_command(settings, Path("m.tar.gz"))
    assert server.command[:3] == shell[:3] and server.command[1:3] == ["-m", "bot.rasa_patches"]
    assert shell[shell.index("--endpoints") + 1] == server.command[server.command.index("--endpoints") + 1] \
        == str(endpoints_path(settings))


def test_every_service_listens_on_the_bind_host(monkeypatch):
    monkeypatch.setenv("BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("RASA_SERVERS", "1")  # one of each kind; nginx in front of several: below
    settings = load_settings()
    services = {s.name: s for s in assistant_services(settings, Path("m.tar.gz"))}
    rasa = services["Rasa server"].command
    assert rasa[rasa.index("--interface") + 1] == "0.0.0.0"
    assert services["action server"].env["SANIC_HOST"] == "0.0.0.0"


def test_nginx_in_front_of_several_rasa_servers_listens_on_the_bind_host(monkeypatch):
    from bot.balancer import nginx_config

    monkeypatch.setenv("BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("RASA_SERVERS", "2")
    settings = load_settings()
    assert f"listen 0.0.0.0:{settings.rasa_port} " in nginx_config(settings)
    later = [s for s in assistant_services(settings, Path("m.tar.gz")) if s.deferred]
    assert "Rasa server 2" in {s.name for s in later} and "Rasa server 1" not in {s.name for s in later}
