"""Staff analytics: tracker events ingested into the app database, masked, and aggregated."""
