"""`python -m bot.onestop.sandbox [--port N] [--db-url URL] [--host H]`: serve the sandbox."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from bot.config import load_settings

from .reference import DEFAULT_PORTAL_URL


def main(argv: Optional[List[str]] = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m bot.onestop.sandbox",
                                     description="Sandbox of the one-stop system (docs/sandbox.md).")
    parser.add_argument("--port", type=int, default=settings.sandbox_port,
                        help="default ONESTOP_SANDBOX_PORT or %(default)s")
    parser.add_argument("--db-url", default=settings.sandbox_db_url,
                        help="SQLAlchemy URL, SQLite or PostgreSQL; default ONESTOP_SANDBOX_DB_URL or %(default)s")
    parser.add_argument("--host", default=settings.bind_host, help="interface to listen on (default: BIND_HOST, %(default)s)")
    args = parser.parse_args(argv)

    from sqlalchemy.exc import SQLAlchemyError

    from .app import create_app  # Sanic loads only when we really serve

    # The portal is not in bot/config.py: only the sandbox builds its links.
    portal_url = os.environ.get("ONESTOP_PORTAL_URL") or DEFAULT_PORTAL_URL
    try:
        app = create_app(args.db_url, settings.onestop_token, portal_url)
    except SQLAlchemyError as error:
        print(f"✗ cannot use the sandbox database {args.db_url}: {getattr(error, 'orig', None) or error}",
              file=sys.stderr)
        return 1
    print(f"one-stop sandbox on http://{args.host}:{args.port} (database {args.db_url})", flush=True)
    # One worker: fault state lives in memory and SQLite wants a single writer.
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
