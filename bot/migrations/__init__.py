"""Alembic migrations of the assistant's database (APP_DB_URL): `python -m bot.migrations migrate`."""
