# Keeps the bench's pytest plugin active in this checkout, even before
# `pip install -e .` has registered its entry point. When the entry point is
# registered too, pytest sees the module is already loaded and skips it.
pytest_plugins = ["benches.pytestplugin.hooks"]
