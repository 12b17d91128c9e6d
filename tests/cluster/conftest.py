"""Fixtures of the cluster tests."""

from __future__ import annotations

import pytest
from cluster_helpers import make_blobs


@pytest.fixture
def blobs():
    return make_blobs
