"""The assistant's own database: dossier subscriptions, lookup rate limits, funnel events."""
