"""A sandbox of the provincial one-stop system, implementing docs/onestop-openapi.yaml.

`python -m bot.onestop.sandbox` serves it; `create_app` builds it for embedding. The
package imports nothing heavy here so that importing it costs nothing.
"""
