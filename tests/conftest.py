"""Shared test configuration.

* Hypothesis profiles: ``ci`` (default, small and deadline-free, for 2-core CI machines) and
  ``thorough`` (many more examples, for local runs): ``HYPOTHESIS_PROFILE=thorough pytest``.
* The derivation disk cache is pointed at a fresh temporary directory for the session, so tests
  never read a cache left by another version of the engine.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ["DIVERGENCES_CACHE_DIR"] = tempfile.mkdtemp(prefix="divergences-test-cache-")
