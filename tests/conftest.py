from collections.abc import Iterator

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real dockerd (tests/e2e; -m 'not e2e' skips them)",
    )


@pytest.fixture(params=["compiled", "pure"])
def kernel_twin(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once with every compiled kernel and once with every pure-Python twin
    (sinks/util/twin.py). The compiled run fails when the kernels were not built, unless
    LOGDRIVER_NO_EXTENSIONS asks for pure Python only: then it skips, and says why."""
    from sinks.util import twin

    which = request.param
    if which == "compiled" and twin.extensions_disabled():
        pytest.skip(f"{twin.NO_EXTENSIONS_ENV} is set: the compiled twins are not tested")
    before = {t.name: t.active for t in twin.twins()}
    twin.use(which)  # ImportError (a failure) if a kernel was not built
    try:
        yield which
    finally:
        for t in twin.twins():
            t.active = before.get(t.name, t.active)
