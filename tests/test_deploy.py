"""docker-compose.yml and the Dockerfile name only settings and modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "bot" / "config.py").read_text()


def test_every_variable_given_to_the_assistant_is_a_setting():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    names = [entry.split("=", 1)[0] for entry in compose["services"]["assistant"]["environment"]]
    assert "ASSISTANT_PROFILE" in names and len(names) > 10
    unknown = [name for name in names if f'"{name}"' not in SETTINGS_SOURCE]
    assert unknown == []
    assert "ASSISTANT_PROFILE=production" in compose["services"]["assistant"]["environment"]


def test_the_databases_the_assistant_expects_are_created():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    urls = [e for e in compose["services"]["assistant"]["environment"] if e.startswith(("TRACKER_DB_URL", "APP_DB_URL"))]
    for url in urls:
        assert f"CREATE DATABASE {url.rsplit('/', 1)[1]};" in init
    mounted = compose["services"]["postgres"]["volumes"][1].split(":")[0]
    assert (ROOT / mounted).resolve() == (ROOT / "deploy" / "postgres-init.sql").resolve()


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"(PASSWORD|TOKEN|SECRET)\w*\s*[:=]\s*[^$\s{]", line) and "${" not in line:
            raise AssertionError(f"a literal secret in docker-compose.yml: {line.strip()}")


def test_the_image_runs_the_supervisor_with_the_lock_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "python:3.10" in dockerfile and "requirements.lock" in dockerfile
    assert 'CMD ["python", "-m", "bot.run", "serve"]' in dockerfile
    assert (ROOT / "bot" / "run" / "__main__.py").exists()  # what `python -m bot.run` runs
