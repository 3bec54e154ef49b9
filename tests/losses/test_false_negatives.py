import torch

from embedtune.losses.false_negatives import false_negative_mask, text_keys


def test_keys_are_stable_and_equal_for_equal_texts():
    keys = text_keys(["a cat", "a dog", "a cat"])
    assert keys.dtype == torch.int64
    assert keys[0] == keys[2] != keys[1]
    # a fixed value: the same in every process and every run (Python's hash() is salted)
    assert text_keys(["a cat"]).tolist() == text_keys(["a cat"]).tolist()


def test_a_batch_with_duplicates():
    anchors = ["p1", "p1", "p2", "p3"]  # rows 0 and 1: one premise, two entailments
    positives = ["e1", "e2", "e3", "e1"]  # rows 0 and 3: the same positive text
    negatives = ["c1", "c2", "e3", "p2"]  # row 2's negative is its own positive's text
    a, p, n = text_keys(anchors), text_keys(positives), text_keys(negatives)
    mask = false_negative_mask(a, p, a, p, n)
    expected = torch.zeros(4, 8, dtype=torch.bool)
    expected[0, 1] = expected[1, 0] = True  # same anchor
    expected[0, 3] = expected[3, 0] = True  # same positive
    expected[2, 6] = True  # a negative with the text of row 2's positive
    expected[2, 7] = True  # a negative with the text of row 2's anchor
    assert torch.equal(mask, expected)
    # no duplicates, no mask
    assert not false_negative_mask(
        text_keys(["x", "y"]), text_keys(["u", "v"]), text_keys(["x", "y"]), text_keys(["u", "v"])
    ).any()


def test_gathered_rows_use_the_label_offset():
    """Rank 1 of 2 holds rows 2-3 of the gathered batch; its own positives are never masked."""
    all_a = text_keys(["q", "r", "q", "s"])
    all_p = text_keys(["d1", "d2", "d1", "d3"])  # row 2 duplicates row 0
    mask = false_negative_mask(all_a[2:], all_p[2:], all_a, all_p, label_offset=2)
    assert mask.tolist() == [[True, False, False, False], [False, False, False, False]]
