"""pirho.data.sequences: CSV/TSV/.npy/.npz readers and one-sequence-at-a-time streaming."""

from __future__ import annotations

import numpy as np
import pytest

from pirho.data.sequences import iter_sequences, read_sequences


def test_csv_with_sequence_column_keeps_row_order_and_reads_missing(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,id,b\n1,s1,2\nNA,s1,\n3,s2,4.5\n5,s2,6\n7,s2,8\n")
    data = read_sequences(path, sequence_column="id")
    assert data.ids == ["s1", "s2"] and data.columns == ["a", "b"]
    assert data.lengths.tolist() == [2, 3]
    np.testing.assert_array_equal(data.X, [[1, 2], [np.nan, np.nan], [3, 4.5], [5, 6], [7, 8]])
    assert read_sequences(path, sequence_column=1).lengths.tolist() == [2, 3]


def test_tsv_blank_lines_separate_sequences_without_header(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("1\t2\n3\t4\n\n\n5\t6\n")
    data = read_sequences(path)
    assert data.lengths.tolist() == [2, 1] and data.columns == ["x0", "x1"]
    assert [s.tolist() for s in data.sequences] == [[[1, 2], [3, 4]], [[5, 6]]]


def test_whitespace_text_file(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("0.5  1\n? 2\n")
    np.testing.assert_array_equal(read_sequences(path).X, [[0.5, 1], [np.nan, 2]])


def test_npy_two_and_three_dimensional(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(5.0))
    np.save(tmp_path / "many.npy", np.arange(24.0).reshape(2, 4, 3))
    one, many = read_sequences(tmp_path / "one.npy"), read_sequences(tmp_path / "many.npy")
    assert one.X.shape == (5, 1) and one.lengths.tolist() == [5]
    assert many.X.shape == (8, 3) and many.lengths.tolist() == [4, 4]
    np.testing.assert_array_equal(many.X[4], [12, 13, 14])


def test_npz_hmmlearn_pair_and_named_arrays(tmp_path):
    X = np.arange(10.0).reshape(5, 2)
    np.savez(tmp_path / "pair.npz", X=X, lengths=np.array([2, 3]))
    np.savez(tmp_path / "named.npz", first=np.ones((2, 2)), second=np.zeros((4, 2)))
    pair = read_sequences(tmp_path / "pair.npz")
    np.testing.assert_array_equal(pair.X, X)
    assert pair.lengths.tolist() == [2, 3]
    named = read_sequences(tmp_path / "named.npz")
    assert named.ids == ["first", "second"] and named.lengths.tolist() == [2, 4]


def test_streaming_yields_a_sequence_before_reading_the_rest(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2\n3,4\n\n5,oops\n")
    stream = iter_sequences(path)
    seq_id, first = next(stream)  # the bad line later in the file is not read yet
    assert seq_id == "0" and first.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="line 4: 'oops' is not a number"):
        next(stream)


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        ("d.csv", "id,a\n1,2\n2,3\n1,4\n", {"sequence_column": "id"}, "appears again"),
        ("d.csv", "id,a\n1,2\n", {"sequence_column": "seq"}, "sequence_column='seq'"),
        ("d.csv", "1,2\n1\n", {}, "line 2: 1 fields, expected 2"),
        ("d.json", "{}", {}, "unknown data format"),
        ("d.csv", "\n\n", {}, "no data"),
    ],
)
def test_bad_files_raise_naming_the_problem(tmp_path, name, text, kwargs, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_sequences(path, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_sequences(tmp_path / "nope.csv")
