"""Staff web app: what citizens ask, what the assistant misses, and why citizens stay offline."""
