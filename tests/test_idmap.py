from __future__ import annotations

import numpy as np
import pytest

from recommender_systems import DataError, IdMap


def test_round_trip_int_and_str() -> None:
    for ids in ([30, 10, 20], ["b", "c", "a"]):
        m = IdMap(np.array(ids))
        assert m.ids.tolist() == ids
        codes = m.to_index(ids)
        assert m.to_ids(codes).tolist() == ids


def test_encode_returns_codes() -> None:
    m, codes = IdMap.encode(np.array(["x", "y", "x"]))
    assert m.ids.tolist() == ["x", "y"] and codes.tolist() == [0, 1, 0]


def test_unknown_ids() -> None:
    m = IdMap(np.array([1, 2, 3]))
    assert m.to_index([3, 99], missing="ignore").tolist() == [2, -1]
    with pytest.raises(KeyError, match="99"):
        m.to_index([99])
    assert "1" not in m and 1 in m and 2.5 not in m
    assert m.index_of("2", missing="ignore") == -1
    assert "a string" in m.describe_id("2")


def test_ids_are_read_only_and_unique() -> None:
    m = IdMap(np.array([1, 2]))
    with pytest.raises(ValueError, match="read-only"):
        m.ids[0] = 5
    with pytest.raises(DataError, match="unique"):
        IdMap(np.array([1, 1]))


def test_to_ids_out_of_range() -> None:
    with pytest.raises(IndexError):
        IdMap(np.array([1])).to_ids([1])


def test_encode_sorts() -> None:
    m, _ = IdMap.encode(np.array([30, 10, 20]))
    assert m.ids.tolist() == [10, 20, 30]


def test_equality() -> None:
    assert IdMap(np.array([1, 2])) == IdMap(np.array([1, 2]))
    assert IdMap(np.array([1, 2])) != IdMap(np.array([2, 1]))
    assert IdMap(np.array([1, 2])) != IdMap(np.array(["1", "2"]))
