"""The one-stop system (một cửa điện tử): its client and, for development, a sandbox."""
