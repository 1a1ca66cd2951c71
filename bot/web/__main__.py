"""`python -m bot.web [--port N]`: serve the chat widget and its demo page."""

from __future__ import annotations

import argparse
import sys

from bot.config import load_settings
from bot.web.app import MissingAsset, create_app


def main() -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=settings.web_port)
    parser.add_argument("--host", default=settings.bind_host, help="interface to listen on (default: BIND_HOST, %(default)s)")
    args = parser.parse_args()
    try:
        app = create_app(settings)
    except MissingAsset as error:
        print(f"✗ {error}", file=sys.stderr)
        return 2
    print(f"Widget demo: http://localhost:{args.port}/ (Rasa socket.io on port {settings.rasa_port})", flush=True)
    app.run(host=args.host, port=args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
