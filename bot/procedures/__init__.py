"""The procedure catalogue: loading, validating, resolving what a citizen named."""
