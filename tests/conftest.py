def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real dockerd (tests/e2e; -m 'not e2e' skips them)",
    )
