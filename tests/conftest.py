import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(REPO, "..", "shared", "vectors")


@pytest.fixture(scope="session")
def vectors():
    """Directory of the files written by the original Disco (shared/vectors beside the repo)."""
    if not os.path.isdir(VECTORS):
        pytest.fail("test vectors not found at %s (shared/ must sit beside the repo)" % VECTORS)
    return VECTORS
