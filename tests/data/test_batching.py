from embedtune.data.batching import epoch_batches, longest_first_chunks, token_bounded_chunks


def test_batches_are_a_seeded_partition():
    lengths = list(range(100))
    a = epoch_batches(lengths, 8, seed=1, epoch=0)
    assert a == epoch_batches(lengths, 8, seed=1, epoch=0)
    assert a != epoch_batches(lengths, 8, seed=1, epoch=1)
    flat = [i for b in a for i in b]
    assert len(flat) == 96 and len(set(flat)) == 96 and all(len(b) == 8 for b in a)


def test_grouping_reduces_padding():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(5, 60) for _ in range(1024)]

    def padding(batches):
        return sum(
            max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches
        )

    grouped = epoch_batches(lengths, 16, seed=0, epoch=0, group_by_length=True)
    plain = epoch_batches(lengths, 16, seed=0, epoch=0, group_by_length=False)
    assert padding(grouped) < padding(plain) / 3


def test_longest_first_chunks_cover_every_row_once_longest_first():
    lengths = [3, 7, 1, 5, 5, 2, 9]
    chunks = longest_first_chunks(lengths, 3)
    assert sorted(i for c in chunks for i in c) == list(range(7))
    ordered = [lengths[i] for c in chunks for i in c]
    assert ordered == sorted(ordered, reverse=True) and [len(c) for c in chunks] == [3, 3, 1]


def test_token_bounded_chunks_respect_both_bounds_and_cover_every_row():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(1, 600) for _ in range(500)]
    chunks = token_bounded_chunks(lengths, 32, max_tokens=4096)
    assert sorted(i for c in chunks for i in c) == list(range(500))
    ordered = [lengths[i] for c in chunks for i in c]
    assert ordered == sorted(ordered, reverse=True)
    for c in chunks:
        assert len(c) <= 32 and len(c) * max(lengths[i] for i in c) <= 4096
    # greedy: the next text would have broken a bound
    for c in chunks[:-1]:
        assert len(c) == 32 or (len(c) + 1) * lengths[c[0]] > 4096
    # a text longer than the bound goes alone; no bound is plain longest-first chunks
    assert token_bounded_chunks([5000, 10, 10], 32, 4096) == [[0], [1, 2]]
    assert token_bounded_chunks(lengths, 32, None) == longest_first_chunks(lengths, 32)


def test_rank_shares_balance_tokens_of_a_length_sorted_batch():
    from embedtune.data.batching import rank_share

    lengths = list(range(64, 0, -1))  # a length-grouped batch: longest first
    batch = list(range(64))
    for world in (2, 4):
        shares = [rank_share(batch, r, world) for r in range(world)]
        assert sorted(i for s in shares for i in s) == batch  # a partition
        assert {len(s) for s in shares} == {64 // world}
        tokens = [sum(lengths[i] for i in s) for s in shares]
        assert max(tokens) - min(tokens) <= world  # a plain split: 1,024 apart at world 2
    assert rank_share(batch, 0, 1) == batch
