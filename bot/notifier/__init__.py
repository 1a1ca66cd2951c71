"""Receives the one-stop system's status-change webhooks and tells the citizens who follow."""
