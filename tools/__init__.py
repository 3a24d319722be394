"""Development tools (not shipped with the package)."""
