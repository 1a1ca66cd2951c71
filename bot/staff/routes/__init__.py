"""The staff app's pages, one module per group of pages, each a blueprint of its routes."""
