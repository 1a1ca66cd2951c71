"""Input channels: how citizens' messages reach the assistant."""
