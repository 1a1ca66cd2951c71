"""`python -m bot.staff serve [--port N]` and `python -m bot.staff users add|list|remove`."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import load_settings


def _read_password() -> str:
    """From stdin when piped (one line), else prompted twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu (ít nhất 10 ký tự): ")
    second = getpass.getpass("Nhập lại mật khẩu: ")
    if first != second:
        raise SystemExit("✗ the two passwords differ")
    return first


def main(argv=None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m bot.staff", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the staff analytics web app")
    serve.add_argument("--port", type=int, default=settings.staff_port)
    serve.add_argument("--host", default=settings.bind_host,
                       help="interface to listen on (default BIND_HOST, loopback: put HTTPS in front of it)")
    users = commands.add_parser("users", help="manage staff accounts")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account (password from stdin or prompted twice)")
    add.add_argument("name")
    add.add_argument("--role", choices=("viewer", "admin"), required=True)
    add.add_argument("--replace", action="store_true", help="reset the role and password of an existing account")
    actions.add_parser("list", help="list the accounts")
    remove = actions.add_parser("remove", help="delete an account and end its sessions")
    remove.add_argument("name")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from bot.staff.app import create_app
        from bot.staff.assets import MissingAsset

        try:
            app = create_app(settings)
        except MissingAsset as error:
            print(f"✗ {error}", file=sys.stderr)
            return 2
        print(f"Staff analytics: http://{args.host}:{args.port}/", flush=True)
        app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
        return 0

    from bot.analytics.engines import app_engine
    from bot.staff import auth
    from bot.staff.models import metadata

    engine = app_engine(settings.app_db_url)
    metadata.create_all(engine)
    if args.action == "add":
        try:
            created = auth.add_user(engine, args.name, args.role, _read_password(), replace=args.replace)
        except auth.AccountError as error:
            print(f"✗ {error}", file=sys.stderr)
            return 1
        print(f"✓ {'created' if created else 'reset'} {auth.normalise_name(args.name)} ({args.role})")
    elif args.action == "list":
        for user in auth.list_users(engine):
            print(f"{user['name']}\t{user['role']}\t{user['created_at']:%Y-%m-%d %H:%M}")
    elif args.action == "remove":
        if not auth.remove_user(engine, args.name):
            print(f"✗ no user {auth.normalise_name(args.name)!r}", file=sys.stderr)
            return 1
        print(f"✓ removed {auth.normalise_name(args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
