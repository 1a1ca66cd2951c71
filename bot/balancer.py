"""Scale-out: several Rasa servers and action servers behind nginx (Debian's package).

With RASA_SERVERS or ACTION_SERVERS above 1 (the embedded default runs a Rasa server per core;
the servers share the tracker store and the lock store: SQLite files embedded, PostgreSQL and
Redis in production), bot.run starts the replicas on ports from REPLICA_PORT_BASE and nginx on
the public ports, with this configuration:

- RASA_PORT: the Rasa servers, each message to the one with the fewest messages in hand (any of
  them can continue any conversation: Rasa takes the conversation's lock in the shared lock
  store and reads its state from the shared tracker store), except socket.io, which keeps a
  client on one server (its session lives in that process);
- ACTIONS_PORT, with several action servers: round robin (they keep no state); one action
  server listens on ACTIONS_PORT itself;
- a replica whose connection fails is skipped and the request tried on the next one.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
from pathlib import Path
from typing import List

from bot.config import Settings


def rasa_ports(settings: Settings) -> List[int]:
    return [settings.replica_port_base + i for i in range(settings.rasa_servers)]


def action_ports(settings: Settings) -> List[int]:
    return [settings.replica_port_base + 50 + i for i in range(settings.action_servers)]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx; `make test` does it)")
    return found


def unavailable_text(settings: Settings) -> str:
    from bot.datafiles import read_yaml

    return str(read_yaml(settings.data_dir / "texts" / "channels.yml")["messages"]["technical_error"])


def nginx_config(settings: Settings) -> str:
    var = settings.var_dir
    # max_fails=0: nginx never marks a server down; each request tries one, and a refused
    # connection (a server dead or still starting; instant on loopback) goes to the next. With
    # max_fails=1 a server refused once at start-up stayed "down" for fail_timeout: when the
    # other died within those 5 s, nginx had "no live upstreams" and told every citizen to try
    # again although a server was up (tests/test_balancer.py, 3 runs in 4 on a fast machine).
    rasa = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in rasa_ports(settings))
    actions = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;"
                        for port in action_ports(settings))
    actions_block = "" if settings.action_servers == 1 else _actions_balancer(settings, actions)
    user = "user root;\n" if getpass.getuser() == "root" else ""
    unavailable = json.dumps([{"text": unavailable_text(settings)}], ensure_ascii=False).replace("\\", "\\\\").replace("'", "\\'")
    return f"""# Written by bot/balancer.py for this run; do not edit.
{user}worker_processes 1;
pid {var}/nginx.pid;
error_log {var}/nginx-error.log info;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {var}/nginx-body;
    proxy_temp_path {var}/nginx-proxy;
    fastcgi_temp_path {var}/nginx-fastcgi;
    uwsgi_temp_path {var}/nginx-uwsgi;
    scgi_temp_path {var}/nginx-scgi;
    client_max_body_size 1m;
    client_body_buffer_size 64k;
    proxy_http_version 1.1;
    proxy_read_timeout 120s;
    # A connection that fails before the message was sent (a server down or starting): the
    # message is tried on the next server. One sent to a server that then died is not: the
    # server may have stored it before dying, and a second try stored it twice (seen in
    # tests/test_balancer.py); the citizen is told to try again (@unavailable). A slow answer is
    # not retried (no second answer). A 503 is a server's own answer (admission control's
    # "busy") and goes to the citizen as it is: counted as a failed attempt, it marked both
    # servers down for 10 s and nginx refused everybody ("no live upstreams").
    proxy_next_upstream error http_502;
    # No connection kept to a Rasa server: with kept-alive connections, a burst of 200 citizens
    # left a hundred of its first messages unanswered on them (nginx waited for proxy_read_timeout;
    # the server never handled it; Sanic 21.12, Rasa's pin). One connection per message, and a
    # listen backlog large enough for the burst (bot/run/topology.py, SANIC_BACKLOG).
    upstream rasa {{
        least_conn;
{rasa}
    }}
    upstream rasa_sticky {{
        ip_hash;
{rasa}
    }}
    server {{
        listen {settings.bind_host}:{settings.rasa_port} backlog=1024;
        location = /nginx-health {{ return 200 "ok"; }}
        # A message in flight on a server that died, or no server up: the citizen's channel
        # still gets a JSON answer in its format, with the text of data/texts/channels.yml.
        # A 503 of a Rasa server is its own answer (admission control: "busy", Retry-After).
        location = /webhooks/rest/webhook {{
            proxy_pass http://rasa;
            proxy_set_header Host $host;
            proxy_intercept_errors on;
            error_page 502 504 = @unavailable;
        }}
        location @unavailable {{
            default_type application/json;
            return 503 '{unavailable}';
        }}
        location /socket.io/ {{
            proxy_pass http://rasa_sticky;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
        }}
        location / {{
            proxy_pass http://rasa;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
{actions_block}}}
"""


def _actions_balancer(settings: Settings, actions: str) -> str:
    """nginx in front of several action servers, on ACTIONS_PORT."""
    return f"""    upstream actions {{
{actions}
        keepalive 512;
        keepalive_requests 100000;
        keepalive_timeout 2s;  # closed before Sanic's own 5 s idle timeout could race a request
    }}
    server {{
        listen 127.0.0.1:{settings.actions_port};
        location = /nginx-health {{ return 200 "ok"; }}
        # Rasa sends the action server the whole conversation and the domain
        location / {{
            client_max_body_size 50m;
            client_body_buffer_size 1m;
            proxy_pass http://actions;
            proxy_set_header Connection "";
            # a kept-alive socket an action server closed: the call is tried on the next one
            proxy_next_upstream error http_502 non_idempotent;
        }}
    }}
"""


def nginx_config_path(settings: Settings) -> Path:
    return settings.var_dir / "nginx.conf"


def write_nginx_config(settings: Settings) -> Path:
    path = nginx_config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nginx_config(settings), encoding="utf-8")
    return path
