from __future__ import annotations

import numpy as np
import pytest

from recommender_systems import DataError, IdMap
from recommender_systems.idmap import ids_from_text


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
    assert m.index_of(7, missing="ignore") == -1  # unknown, of the right type
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


# ------------------------------------------------- the one rule for ids (issue 11)
def test_a_lookup_of_the_wrong_type_names_the_model_id_type() -> None:
    ints, strs = IdMap(np.array([1, 2, 3])), IdMap(np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"user_id: expected integers .*received the str '2'"):
        ints.index_of("2", missing="ignore", name="user_id")
    with pytest.raises(DataError, match=r"expected strings \(this model's ids are strings\)"):
        strs.to_index([1], missing="ignore")
    with pytest.raises(DataError, match="expected integers"):
        ints.index_of(True)
    assert ints.index_of(np.int32(2)) == 1 and ints.index_of(3.0) == 2  # whole floats are ints


def test_a_mixed_list_is_refused_naming_the_odd_one_out() -> None:
    ints = IdMap(np.array([1, 9]))
    with pytest.raises(DataError, match=r"received the str 'nobody' at position 2"):
        ints.to_index([9, 1, "nobody"], missing="ignore")
    with pytest.raises(DataError, match=r"received the int 7 at position 1"):
        IdMap(np.array(["a"])).to_index(["a", 7], missing="ignore")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, 1e20, float(2**53 + 2)])
def test_ids_that_cannot_be_exact_are_refused(value: object) -> None:
    ints = IdMap(np.array([1, 2]))
    with pytest.raises(DataError, match="represented exactly"):
        ints.index_of(value)
    with pytest.raises(DataError, match="represented exactly"):
        ints.to_index([1, value])
    with pytest.raises(DataError, match="represented exactly"):
        IdMap.encode(np.array([1, value], dtype=object))


def test_float_ids_beyond_2_53_are_not_merged() -> None:
    with pytest.raises(DataError, match=r"represented exactly.*1e\+20 at row 0"):
        IdMap.encode(np.array([1e20, 2e20]), name="user_id")
    ids, _ = IdMap.encode(np.array([1.0, 2.0**53]))
    assert ids.ids.tolist() == [1, 2**53]


def test_coerce_reads_canonical_integers_only() -> None:
    ints = IdMap(np.array([1, 42]))
    assert ints.coerce("42") == 42 and ints.coerce("-5") == -5 and ints.coerce(7) == 7
    for text in ("042", "+42", "4_2", " 42", "42.0", "", "1e3"):
        with pytest.raises(DataError, match="expected an id like this model's"):
            ints.coerce(text)
    with pytest.raises(DataError, match="represented exactly"):
        ints.coerce(str(2**63))
    assert IdMap(np.array(["001"])).coerce("001") == "001"


def test_ids_from_text_keep_their_text_unless_canonical_integers() -> None:
    assert ids_from_text(np.array(["1", "20", "-3"], dtype=object), "u").tolist() == [1, 20, -3]
    assert ids_from_text(["001", "2"], "u").tolist() == ["001", "2"]
    assert ids_from_text(["1", str(2**63)], "u").tolist() == ["1", str(2**63)]
    with pytest.raises(DataError, match="null"):
        ids_from_text(["1", None], "u")
