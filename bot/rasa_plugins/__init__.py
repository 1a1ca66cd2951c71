"""Rasa plug-ins: the tracker store, lock store and event broker Rasa loads by their class path
(endpoints files written by bot/run/files.py). The assistant's own database is bot/store."""
