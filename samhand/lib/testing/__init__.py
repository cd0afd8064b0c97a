"""Test support shared by every app: headless Chromium with axe-core, static checks.

Nothing in this package is imported by the running application; it is loaded by
pytest through `-p samhand.lib.testing.pytest_plugin` (see pyproject.toml).
"""
