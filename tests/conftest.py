"""Shared fixtures: a real local OpenAI-compatible server (see _openai_server)
and a real redis-server for the shared cache (see _redis_server)."""

import sys
from pathlib import Path

import pytest

# tests/ is no package (pytest runs with --import-mode=importlib): make its
# helper modules importable as top-level modules, e.g. ``_openai_server``.
sys.path.insert(0, str(Path(__file__).parent))

from _openai_server import TEST_KEY_ENV, FakeOpenAIServer  # noqa: E402

TEST_KEY = "sk-test-not-a-secret"


@pytest.fixture(scope="session")
def openai_server():
    """One FakeOpenAIServer on 127.0.0.1 for the whole session."""
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_llm(openai_server, monkeypatch):
    """The session server, reset, with a dummy key in ``KURA_SKLEARN_TEST_KEY``.

    ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are unset, so nothing can reach
    a real service by accident.
    """
    openai_server.reset()
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield openai_server
    openai_server.reset()  # also wakes handlers a fault left sleeping


@pytest.fixture(scope="session")
def redis_server():
    """One redis-server on 127.0.0.1 for the session (Debian's package).

    Skipped when redis-server or the redis package is missing, unless
    ``KURA_SKLEARN_REQUIRE_REDIS=1`` (as in ``.ci/run``) turns that into a
    failure.
    """
    from _redis_server import RedisServer, redis_required

    missing = None
    try:
        import redis  # noqa: F401
    except ImportError:
        missing = "the redis package is missing (pip install 'kura-sklearn[redis]')"
    server = RedisServer()
    if missing is None and server.executable is None:
        missing = "redis-server is not installed (apt-get install redis-server)"
    if missing is not None:
        if redis_required():
            pytest.fail(f"KURA_SKLEARN_REQUIRE_REDIS=1 but {missing}")
        pytest.skip(missing)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis server, emptied, as a ``redis://`` cache URL."""
    redis_server.flush()
    yield redis_server.url
    redis_server.flush()


@pytest.fixture(scope="session")
def fitted_sample_pipeline():
    """The offline pipeline fitted once on the bundled sample, and the sample.

    Shared by the whole session: tests must not change it (predict, tables
    and reports read it only).
    """
    from kura_sklearn import load_sample_conversations, make_kura_pipeline

    conversations = load_sample_conversations()
    return make_kura_pipeline(random_state=0).fit(conversations), conversations
