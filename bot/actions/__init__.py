"""Custom actions, served by `rasa run actions --actions bot.actions`."""
