"""Adversarial inputs to xpnn.utils.data, each run on torch.utils.data (torch 2.13) and on
xpnn: where torch returns a value xpnn returns the same structure, types, dtypes, shapes and
values; where torch raises, xpnn raises an instance of torch's exception class (a clear
message, never a NumPy error or a hang).

Values are ints, bools and small float32 numbers: compared exactly (exactly representable).
Deliberate differences are tested on their own at the end (float64 collate -> float32,
stricter checks where torch returns a silently wrong result).
"""
import collections

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn.utils import data as XD

torch = pytest.importorskip("torch")
TD = torch.utils.data

P = collections.namedtuple("P", "a b")


def norm(o):
    """A comparable picture of a result: tensors as (shape, dtype, values), containers by
    type name."""
    if isinstance(o, (torch.Tensor, xpnn.Tensor)):
        a = o.detach().numpy() if isinstance(o, torch.Tensor) else to_np(o)
        return ("T", tuple(o.shape), str(o.dtype).rsplit(".", 1)[-1], a.tolist())
    if isinstance(o, dict):
        return (type(o).__name__, {k: norm(v) for k, v in o.items()})
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, [norm(v) for v in o])
    if isinstance(o, np.generic):
        return ("np", type(o).__name__, o.item())
    return (type(o).__name__, o)


def lib(which):
    return (torch, TD) if which == "torch" else (xpnn, XD)


def result(f, which):
    T, D = lib(which)
    r = f(T, D)
    if isinstance(r, (D.DataLoader, D.Sampler, map)):
        r = list(r)
    return norm(r)


def td(T, D, n=5):
    return D.TensorDataset(T.arange(n * 2, dtype=T.float32).reshape(n, 2), T.arange(n))


def gen(T, seed=0):
    return T.Generator().manual_seed(seed)


def iterable(D, n=5, with_len=False):
    class Count(D.IterableDataset):
        def __iter__(self):
            return iter(range(n))

    class Sized(Count):
        def __len__(self):
            return n
    return Sized() if with_len else Count()


class Records:
    """A plain map-style dataset of dict samples (no base class, as torch allows)."""

    def __init__(self, n=5):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"Records: index {i} out of range")
        return {"x": np.full(2, i, np.float32), "y": i, "s": str(i)}

    def __len__(self):
        return self.n


def C(D):
    return D.default_collate


def V(D):
    return D.default_convert


# -- the same value on both libraries -----------------------------------------------------
SAME = {
    "collate_ints": lambda T, D: C(D)([1, 2, 3]),
    "collate_bools": lambda T, D: C(D)([True, False]),
    "collate_bool_then_int": lambda T, D: C(D)([True, 2]),
    "collate_str": lambda T, D: C(D)(["a", "b"]),
    "collate_bytes": lambda T, D: C(D)([b"a", b"b"]),
    "collate_numpy_str_scalars": lambda T, D: C(D)([np.str_("a"), np.str_("b")]),
    "collate_dict": lambda T, D: C(D)([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]),
    "collate_dict_extra_keys": lambda T, D: C(D)([{"a": 1}, {"a": 2, "b": 3}]),
    "collate_ordered_dict": lambda T, D: C(D)([collections.OrderedDict(a=1),
                                               collections.OrderedDict(a=2)]),
    "collate_defaultdict": lambda T, D: C(D)([collections.defaultdict(int, a=1),
                                              collections.defaultdict(int, a=2)]),
    "collate_namedtuple": lambda T, D: C(D)([P(1, "u"), P(3, "v")]),
    "collate_tuples": lambda T, D: C(D)([(1, 2), (3, 4)]),
    "collate_lists": lambda T, D: C(D)([[1, 2], [3, 4]]),
    "collate_nested": lambda T, D: C(D)([{"x": [(1, "a"), {"y": 2}]},
                                         {"x": [(3, "b"), {"y": 4}]}]),
    "collate_np_float32_scalars": lambda T, D: C(D)([np.float32(1), np.float32(2)]),
    "collate_np_int32_scalars": lambda T, D: C(D)([np.int32(1), np.int32(2)]),
    "collate_np_bool_scalars": lambda T, D: C(D)([np.bool_(True), np.bool_(False)]),
    "collate_np_float32": lambda T, D: C(D)([np.ones(2, np.float32), np.zeros(2, np.float32)]),
    "collate_np_int64": lambda T, D: C(D)([np.ones(2, np.int64), np.zeros(2, np.int64)]),
    "collate_np_uint8": lambda T, D: C(D)([np.ones(2, np.uint8), np.zeros(2, np.uint8)]),
    "collate_np_bool": lambda T, D: C(D)([np.ones(2, bool), np.zeros(2, bool)]),
    "collate_np_0d": lambda T, D: C(D)([np.array(1.0, np.float32), np.array(2.0, np.float32)]),
    "collate_np_batch": lambda T, D: C(D)(np.ones((2, 3), np.float32)),
    "collate_tensors": lambda T, D: C(D)([T.tensor([1., 2.]), T.tensor([3., 4.])]),
    "collate_tensors_0d": lambda T, D: C(D)([T.tensor(1.), T.tensor(3.)]),
    "collate_tensors_int32": lambda T, D: C(D)([T.tensor([1, 2], dtype=T.int32),
                                                T.tensor([3, 4], dtype=T.int32)]),
    "collate_batch_of_one": lambda T, D: C(D)([(T.tensor([1., 2.]), 1)]),
    "collate_int64_min": lambda T, D: C(D)([-2 ** 63, 1]),
    "convert_np": lambda T, D: V(D)(np.ones(2, np.float32)),
    "convert_np_scalar": lambda T, D: V(D)(np.float32(2)),
    "convert_np_int_scalar": lambda T, D: V(D)(np.int64(2)),
    "convert_int": lambda T, D: V(D)(3),
    "convert_str": lambda T, D: V(D)("a"),
    "convert_tuple": lambda T, D: V(D)((np.ones(1, np.float32), 1)),
    "convert_namedtuple": lambda T, D: V(D)(P(np.ones(1, np.float32), 1)),
    "convert_dict": lambda T, D: V(D)({"a": np.ones(1, np.float32)}),
    "convert_defaultdict": lambda T, D: V(D)(collections.defaultdict(int, a=np.ones(1, "f4"))),
    "convert_np_str": lambda T, D: V(D)(np.array(["a"])).tolist(),
    "convert_none": lambda T, D: V(D)(None),
    # DataLoader
    "loader_batch_size_none": lambda T, D: D.DataLoader(td(T, D), batch_size=None),
    "loader_batch_size_none_records": lambda T, D: D.DataLoader(Records(), batch_size=None),
    "loader_drop_last_short": lambda T, D: D.DataLoader(td(T, D), batch_size=8,
                                                        drop_last=True),
    "loader_len_drop_last_short": lambda T, D: len(D.DataLoader(td(T, D), batch_size=8,
                                                                drop_last=True)),
    "loader_len_drop_last": lambda T, D: len(D.DataLoader(td(T, D), batch_size=2,
                                                          drop_last=True)),
    "loader_len": lambda T, D: len(D.DataLoader(td(T, D), batch_size=2)),
    "loader_batch_sampler": lambda T, D: D.DataLoader(td(T, D), batch_sampler=[[0, 1], [4]]),
    "loader_batch_sampler_size_1": lambda T, D: D.DataLoader(td(T, D), batch_size=1,
                                                             batch_sampler=[[0, 1], [4]]),
    "loader_sampler_list": lambda T, D: D.DataLoader(td(T, D), sampler=[4, 3, 1], batch_size=2),
    "loader_sampler_negative": lambda T, D: D.DataLoader(td(T, D), sampler=[0, -1],
                                                         batch_size=2),
    "loader_sampler_tensor": lambda T, D: D.DataLoader(td(T, D), sampler=T.tensor([3, 1]),
                                                       batch_size=2),
    "loader_none_fast_sampler": lambda T, D: D.DataLoader(td(T, D), batch_size=None,
                                                          sampler=[4, 0]),
    "loader_shuffle_false_sampler": lambda T, D: D.DataLoader(td(T, D), shuffle=False,
                                                              sampler=[4, 3]),
    "loader_pin_memory": lambda T, D: D.DataLoader(td(T, D), pin_memory=True, batch_size=2),
    "loader_iterable_len": lambda T, D: len(D.DataLoader(iterable(D, with_len=True),
                                                         batch_size=2)),
    "loader_iterable_len_drop_last": lambda T, D: len(D.DataLoader(
        iterable(D, with_len=True), batch_size=2, drop_last=True)),
    "loader_iterable": lambda T, D: D.DataLoader(iterable(D), batch_size=2),
    "loader_iterable_drop_last": lambda T, D: D.DataLoader(iterable(D), batch_size=2,
                                                           drop_last=True),
    "loader_iterable_no_batching": lambda T, D: D.DataLoader(iterable(D), batch_size=None),
    "loader_iterable_shuffle_false": lambda T, D: D.DataLoader(iterable(D), shuffle=False,
                                                               batch_size=2),
    "loader_twice": lambda T, D: (lambda dl: [list(dl), list(dl)])(
        D.DataLoader(Records(), batch_size=2)),
    "loader_records_drop_last": lambda T, D: D.DataLoader(Records(), batch_size=2,
                                                          drop_last=True),
    "loader_list_dataset": lambda T, D: D.DataLoader([1, 2, 3], batch_size=2),
    "loader_empty_dataset": lambda T, D: D.DataLoader([], batch_size=2),
    "loader_empty_tensor_dataset_len": lambda T, D: len(D.DataLoader(
        D.TensorDataset(T.zeros(0, 2)), batch_size=2)),
    "loader_collate_fn": lambda T, D: D.DataLoader([1, 2, 3], batch_size=2,
                                                   collate_fn=lambda b: b),
    "loader_subset": lambda T, D: D.DataLoader(D.Subset(td(T, D), [4, 2, 0]), batch_size=2),
    "loader_concat": lambda T, D: D.DataLoader(D.ConcatDataset([td(T, D), td(T, D, 2)]),
                                               batch_size=3),
    "loader_stack_dataset": lambda T, D: D.DataLoader(D.StackDataset(a=[1, 2], b=[3, 4]),
                                                      batch_size=2),
    "loader_seeded_shapes": lambda T, D: [b[1].shape[0] for b in D.DataLoader(
        td(T, D), batch_size=2, shuffle=True, generator=gen(T))],
    "loader_seeded_deterministic": lambda T, D: len({tuple(
        tuple(b[1].tolist()) for b in D.DataLoader(td(T, D), shuffle=True, batch_size=2,
                                                   generator=gen(T, 3))) for _ in range(2)}),
    # datasets
    "tensor_dataset_negative": lambda T, D: td(T, D)[-1],
    "tensor_dataset_slice": lambda T, D: td(T, D)[1:3],
    "tensor_dataset_list": lambda T, D: td(T, D)[[0, 2]],
    "tensor_dataset_tensor_index": lambda T, D: td(T, D)[T.tensor([0, 2])],
    "concat_empty_members": lambda T, D: len(D.ConcatDataset([[], []])),
    "concat_cumulative_sizes": lambda T, D: D.ConcatDataset([[1, 2], [], [3]]).cumulative_sizes,
    "concat_negative": lambda T, D: D.ConcatDataset([[1, 2], [], [3]])[-1],
    "concat_negative_2": lambda T, D: D.ConcatDataset([[1, 2], [], [3]])[-3],
    "concat_skips_empty": lambda T, D: D.ConcatDataset([[1, 2], [], [3]])[2],
    "concat_add": lambda T, D: len(td(T, D) + td(T, D)),
    "concat_generator": lambda T, D: len(D.ConcatDataset(x for x in [[1], [2, 3]])),
    "subset_tensor_indices": lambda T, D: D.Subset([10, 11, 12, 13], T.tensor([3, 1]))[0],
    "subset_tensor_len": lambda T, D: len(D.Subset([10, 11, 12, 13], T.tensor([3, 1]))),
    "subset_negative": lambda T, D: D.Subset([10, 11, 12, 13], [3, 1])[-1],
    "subset_getitems": lambda T, D: D.Subset([10, 11, 12, 13], [3, 1]).__getitems__([1, 0]),
    "split_fractions": lambda T, D: [len(s) for s in D.random_split(range(10),
                                                                    [0.3, 0.3, 0.4])],
    "split_fractions_remainder": lambda T, D: [len(s) for s in D.random_split(
        range(11), [0.5, 0.25, 0.25])],
    "split_fractions_remainder_2": lambda T, D: [len(s) for s in D.random_split(
        range(7), [0.1, 0.1, 0.8])],
    "split_lengths": lambda T, D: [len(s) for s in D.random_split(range(10), [3, 7])],
    "split_tensor_lengths": lambda T, D: [len(s) for s in D.random_split(range(10),
                                                                         T.tensor([3, 7]))],
    "split_one": lambda T, D: [len(s) for s in D.random_split(range(1), [1])],
    "split_deterministic": lambda T, D: [list(s) for s in D.random_split(
        range(10), [3, 7], generator=gen(T, 5))] == [list(s) for s in D.random_split(
            range(10), [3, 7], generator=gen(T, 5))],
    "split_covers": lambda T, D: sorted(sum((list(s) for s in D.random_split(
        range(9), [0.5, 0.5], generator=gen(T, 1))), [])),
    "tensor_dataset_of_nothing": lambda T, D: D.TensorDataset()[0],
    "stack_tuple": lambda T, D: D.StackDataset([1, 2], [3, 4])[1],
    "stack_dict": lambda T, D: D.StackDataset(a=[1, 2], b=[3, 4])[1],
    "stack_getitems": lambda T, D: D.StackDataset([1, 2], [3, 4]).__getitems__([1, 0]),
    "stack_getitems_dict": lambda T, D: D.StackDataset(a=[1, 2], b=[3, 4]).__getitems__([1]),
    "stack_len": lambda T, D: len(D.StackDataset(a=[1, 2], b=[3, 4])),
    # samplers
    "random_sampler_replacement": lambda T, D: len(list(D.RandomSampler(
        range(5), replacement=True, num_samples=12))),
    "random_sampler_all_once": lambda T, D: sorted(D.RandomSampler(range(5))),
    "random_sampler_deterministic": lambda T, D: list(D.RandomSampler(
        range(10), generator=gen(T, 3))) == list(D.RandomSampler(range(10),
                                                                 generator=gen(T, 3))),
    "random_sampler_advances": lambda T, D: (lambda s: list(s) != list(s))(
        D.RandomSampler(range(10), generator=gen(T, 3))),
    "random_sampler_over_n_len": lambda T, D: len(list(D.RandomSampler(range(3),
                                                                       num_samples=7))),
    "sequential": lambda T, D: list(D.SequentialSampler(range(3))),
    "sequential_len": lambda T, D: len(D.SequentialSampler(range(3))),
    "subset_random": lambda T, D: sorted(D.SubsetRandomSampler([5, 3, 9])),
    "subset_random_len": lambda T, D: len(D.SubsetRandomSampler([5, 3, 9])),
    "subset_random_int": lambda T, D: type(next(iter(D.SubsetRandomSampler([5, 3])))).__name__,
    "subset_random_empty": lambda T, D: list(D.SubsetRandomSampler([])),
    "weighted_without_replacement": lambda T, D: sorted(D.WeightedRandomSampler(
        [1.0, 1.0, 1.0], 3, replacement=False)),
    "weighted_weights": lambda T, D: D.WeightedRandomSampler([1, 2], 1).weights,
    "weighted_len": lambda T, D: len(D.WeightedRandomSampler([1, 2], 7)),
    "weighted_int": lambda T, D: type(next(iter(D.WeightedRandomSampler([1, 2], 7)))).__name__,
    "weighted_one_nonzero": lambda T, D: list(D.WeightedRandomSampler([0.0, 1.0, 0.0], 4)),
    "batch_sampler": lambda T, D: list(D.BatchSampler(range(5), 2, False)),
    "batch_sampler_drop_last": lambda T, D: list(D.BatchSampler(range(5), 2, True)),
    "batch_sampler_len": lambda T, D: [len(D.BatchSampler(range(5), 2, d))
                                       for d in (False, True)],
    "distributed": lambda T, D: list(D.DistributedSampler(range(10), num_replicas=3, rank=1,
                                                          shuffle=False)),
    "distributed_drop_last": lambda T, D: list(D.DistributedSampler(
        range(10), num_replicas=3, rank=2, shuffle=False, drop_last=True)),
    "distributed_len": lambda T, D: [len(D.DistributedSampler(range(10), num_replicas=3, rank=0,
                                                              drop_last=d))
                                     for d in (False, True)],
    "distributed_pads_small": lambda T, D: list(D.DistributedSampler(
        range(2), num_replicas=5, rank=4, shuffle=False)),
    "distributed_drop_small": lambda T, D: list(D.DistributedSampler(
        range(2), num_replicas=5, rank=4, shuffle=False, drop_last=True)),
    "distributed_empty": lambda T, D: list(D.DistributedSampler([], num_replicas=2, rank=0,
                                                                shuffle=False)),
    "distributed_epoch_deterministic": lambda T, D: (lambda s: (
        s.set_epoch(3), list(s))[1] == (s.set_epoch(3), list(s))[1])(
            D.DistributedSampler(range(10), num_replicas=2, rank=0)),
    "distributed_epoch_changes": lambda T, D: (lambda s: (
        s.set_epoch(3), list(s))[1] != (s.set_epoch(4), list(s))[1])(
            D.DistributedSampler(range(10), num_replicas=2, rank=0)),
    "distributed_attributes": lambda T, D: (lambda s: (
        s.num_samples, s.total_size, s.epoch, s.seed))(
            D.DistributedSampler(range(10), num_replicas=4, rank=0)),
}

# -- torch raises: xpnn raises an instance of the same class --------------------------------
RAISES = {
    "collate_empty": lambda T, D: C(D)([]),
    "collate_none": lambda T, D: C(D)([None, None]),
    "collate_number_then_none": lambda T, D: C(D)([1, None]),
    "collate_number_then_str": lambda T, D: C(D)([1, "a"]),
    "collate_number_then_list": lambda T, D: C(D)([1, [2]]),
    "collate_number_then_tensor": lambda T, D: C(D)([3, T.tensor([1., 2.])]),
    "collate_int_overflow": lambda T, D: C(D)([1, 2 ** 63]),
    "collate_int_overflow_first": lambda T, D: C(D)([2 ** 63, 1]),
    "collate_complex": lambda T, D: C(D)([1j, 2j]),
    "collate_dict_keys_differ": lambda T, D: C(D)([{"a": 1}, {"b": 2}]),
    "collate_lists_unequal": lambda T, D: C(D)([[1, 2], [3]]),
    "collate_tuples_unequal": lambda T, D: C(D)([(1, 2), (3,)]),
    "collate_np_shapes_differ": lambda T, D: C(D)([np.ones(2, np.float32),
                                                   np.zeros(3, np.float32)]),
    "collate_np_then_number": lambda T, D: C(D)([np.ones(2, np.float32), 1]),
    "collate_np_strings": lambda T, D: C(D)([np.array(["a"]), np.array(["b"])]),
    "collate_np_objects": lambda T, D: C(D)([np.array([1], dtype=object),
                                             np.array([2], dtype=object)]),
    "collate_tensor_shapes_differ": lambda T, D: C(D)([T.tensor([1., 2.]), T.tensor([3.])]),
    "collate_tensor_then_number": lambda T, D: C(D)([T.tensor([1., 2.]), 3]),
    "collate_tensor_batch": lambda T, D: C(D)(T.tensor([1., 2.])),
    "collate_objects": lambda T, D: C(D)([object(), object()]),
    "collate_sets": lambda T, D: C(D)([{1}, {2}]),
    "collate_int_batch": lambda T, D: C(D)(3),
    # DataLoader arguments
    "loader_batch_size_0": lambda T, D: D.DataLoader(td(T, D), batch_size=0),
    "loader_batch_size_negative": lambda T, D: D.DataLoader(td(T, D), batch_size=-1),
    "loader_batch_size_float": lambda T, D: list(D.DataLoader(td(T, D), batch_size=2.0)),
    "loader_batch_size_str": lambda T, D: D.DataLoader(td(T, D), batch_size="2"),
    "loader_shuffle_and_sampler": lambda T, D: D.DataLoader(
        td(T, D), shuffle=True, sampler=D.SequentialSampler(range(5))),
    "loader_batch_sampler_and_batch_size": lambda T, D: D.DataLoader(
        td(T, D), batch_size=2, batch_sampler=[[0, 1]]),
    "loader_batch_sampler_and_shuffle": lambda T, D: D.DataLoader(
        td(T, D), shuffle=True, batch_sampler=[[0, 1]]),
    "loader_batch_sampler_and_sampler": lambda T, D: D.DataLoader(
        td(T, D), sampler=[0], batch_sampler=[[0, 1]]),
    "loader_batch_sampler_and_drop_last": lambda T, D: D.DataLoader(
        td(T, D), drop_last=True, batch_sampler=[[0, 1]]),
    "loader_batch_sampler_and_no_batching": lambda T, D: D.DataLoader(
        td(T, D), batch_size=None, batch_sampler=[[0, 1]]),
    "loader_no_batching_drop_last": lambda T, D: D.DataLoader(td(T, D), batch_size=None,
                                                              drop_last=True),
    "loader_workers_negative": lambda T, D: D.DataLoader(td(T, D), num_workers=-1),
    "loader_workers_float": lambda T, D: list(D.DataLoader(td(T, D), num_workers=1.0)),
    "loader_timeout_negative": lambda T, D: D.DataLoader(td(T, D), timeout=-1),
    "loader_timeout_without_workers": lambda T, D: list(D.DataLoader(td(T, D), timeout=5,
                                                                     batch_size=5)),
    "loader_persistent_without_workers": lambda T, D: D.DataLoader(td(T, D),
                                                                   persistent_workers=True),
    "loader_prefetch_without_workers": lambda T, D: D.DataLoader(td(T, D), prefetch_factor=2),
    "loader_prefetch_negative": lambda T, D: D.DataLoader(td(T, D), num_workers=1,
                                                          prefetch_factor=-1),
    "loader_context_without_workers": lambda T, D: D.DataLoader(
        td(T, D), multiprocessing_context="spawn"),
    "loader_iterable_no_len": lambda T, D: len(D.DataLoader(iterable(D), batch_size=2)),
    "loader_iterable_shuffle": lambda T, D: D.DataLoader(iterable(D), shuffle=True),
    "loader_iterable_sampler": lambda T, D: D.DataLoader(iterable(D), sampler=[0, 1]),
    "loader_iterable_batch_sampler": lambda T, D: D.DataLoader(iterable(D),
                                                               batch_sampler=[[0, 1]]),
    "loader_collate_not_callable": lambda T, D: list(D.DataLoader([1, 2, 3], batch_size=2,
                                                                  collate_fn=5)),
    "loader_empty_dataset_shuffled": lambda T, D: D.DataLoader([], batch_size=2,
                                                               shuffle=True),
    "loader_int_dataset": lambda T, D: list(D.DataLoader(5)),
    "loader_none_dataset": lambda T, D: list(D.DataLoader(None)),
    "loader_set_batch_size": lambda T, D: setattr(D.DataLoader(td(T, D)), "batch_size", 3),
    "loader_sampler_without_len": lambda T, D: len(D.DataLoader(td(T, D),
                                                                sampler=iter([0, 1]))),
    "loader_sampler_out_of_range": lambda T, D: list(D.DataLoader(td(T, D), sampler=[0, 7],
                                                                  batch_size=2)),
    "loader_batch_out_of_range": lambda T, D: list(D.DataLoader(td(T, D),
                                                                batch_sampler=[[0, 9]])),
    "loader_empty_batch": lambda T, D: list(D.DataLoader(td(T, D), batch_sampler=[[]])),
    "loader_int_batches": lambda T, D: list(D.DataLoader(td(T, D), batch_sampler=[0, 1])),
    "loader_float_indices": lambda T, D: list(D.DataLoader(td(T, D), sampler=[0.0, 1.0],
                                                           batch_size=2)),
    "loader_subset_out_of_range": lambda T, D: list(D.DataLoader(D.Subset(td(T, D), [4, 9]),
                                                                 batch_size=2)),
    "loader_map_out_of_range": lambda T, D: list(D.DataLoader([1, 2], sampler=[0, 5],
                                                              batch_size=2)),
    "loader_dict_dataset_keys": lambda T, D: list(D.DataLoader({0: 1, 2: 2}, batch_size=2)),
    "loader_bad_generator": lambda T, D: list(D.DataLoader(td(T, D), shuffle=True,
                                                           generator=5)),
    # datasets
    "tensor_dataset_sizes_differ": lambda T, D: D.TensorDataset(T.zeros(3, 2), T.zeros(4)),
    "tensor_dataset_no_tensors": lambda T, D: len(D.TensorDataset()),
    "tensor_dataset_0d": lambda T, D: D.TensorDataset(T.tensor(1.0)),
    "tensor_dataset_out_of_range": lambda T, D: td(T, D)[5],
    "tensor_dataset_negative_out_of_range": lambda T, D: td(T, D)[-6],
    "tensor_dataset_float_index": lambda T, D: td(T, D)[1.0],
    "concat_nothing": lambda T, D: D.ConcatDataset([]),
    "concat_negative_out_of_range": lambda T, D: D.ConcatDataset([[1, 2], [], [3]])[-4],
    "concat_out_of_range": lambda T, D: D.ConcatDataset([[1, 2], [], [3]])[3],
    "concat_iterable": lambda T, D: D.ConcatDataset([[1], iterable(D)]),
    "concat_slice": lambda T, D: D.ConcatDataset([[1, 2], [3]])[0:2],
    "subset_list_of_list": lambda T, D: D.Subset([10, 11, 12, 13], [3, 1, 0])[[0, 2]],
    "subset_out_of_range": lambda T, D: D.Subset([10, 11, 12, 13], [3, 1])[2],
    "split_fractions_short": lambda T, D: D.random_split(range(10), [0.3, 0.3]),
    "split_fractions_over": lambda T, D: D.random_split(range(10), [0.6, 0.6]),
    "split_lengths_short": lambda T, D: D.random_split(range(10), [3, 3]),
    "split_float_lengths": lambda T, D: D.random_split(range(10), [3.0, 7.0]),
    "split_negative_fraction": lambda T, D: D.random_split(range(10), [1.5, -0.5]),
    "chain_of_map_dataset": lambda T, D: list(D.ChainDataset([D.TensorDataset(T.arange(2))])),
    "stack_sizes_differ": lambda T, D: D.StackDataset([1, 2], [3]),
    "stack_nothing": lambda T, D: D.StackDataset(),
    "stack_both_forms": lambda T, D: D.StackDataset([1], a=[2]),
    "dataset_base_getitem": lambda T, D: D.Dataset()[0],
    "dataset_base_len": lambda T, D: len(D.Dataset()),
    "iterable_dataset_base": lambda T, D: iter(D.IterableDataset()),
    # samplers
    "random_sampler_0_samples": lambda T, D: D.RandomSampler(range(5), num_samples=0),
    "random_sampler_negative_samples": lambda T, D: D.RandomSampler(range(5), num_samples=-1),
    "random_sampler_float_samples": lambda T, D: D.RandomSampler(range(5), num_samples=2.0),
    "random_sampler_empty": lambda T, D: D.RandomSampler([]),
    "random_sampler_replacement_not_bool": lambda T, D: D.RandomSampler(range(5),
                                                                        replacement=1),
    "random_sampler_bad_generator": lambda T, D: list(D.RandomSampler(range(3), generator=5)),
    "weighted_negative": lambda T, D: list(D.WeightedRandomSampler([1.0, -1.0], 2)),
    "weighted_zero_sum": lambda T, D: list(D.WeightedRandomSampler([0.0, 0.0], 2)),
    "weighted_nan": lambda T, D: list(D.WeightedRandomSampler([1.0, float("nan")], 2)),
    "weighted_inf": lambda T, D: list(D.WeightedRandomSampler([1.0, float("inf")], 2)),
    "weighted_too_many_without_replacement": lambda T, D: list(D.WeightedRandomSampler(
        [1.0, 1.0], 3, replacement=False)),
    "weighted_0_samples": lambda T, D: D.WeightedRandomSampler([1.0], 0),
    "weighted_float_samples": lambda T, D: D.WeightedRandomSampler([1.0], 1.0),
    "weighted_2d": lambda T, D: D.WeightedRandomSampler([[1.0]], 1),
    "weighted_replacement_not_bool": lambda T, D: D.WeightedRandomSampler([1.0], 1,
                                                                          replacement=0),
    "weighted_empty": lambda T, D: list(D.WeightedRandomSampler([], 1)),
    "batch_sampler_0": lambda T, D: D.BatchSampler(range(5), 0, False),
    "batch_sampler_float": lambda T, D: D.BatchSampler(range(5), 2.0, False),
    "batch_sampler_bool": lambda T, D: D.BatchSampler(range(5), True, False),
    "batch_sampler_drop_last_int": lambda T, D: D.BatchSampler(range(5), 2, 1),
    "distributed_rank_too_big": lambda T, D: D.DistributedSampler(range(10), num_replicas=3,
                                                                  rank=3),
    "distributed_rank_negative": lambda T, D: D.DistributedSampler(range(10), num_replicas=3,
                                                                   rank=-1),
    "distributed_no_replicas": lambda T, D: D.DistributedSampler(range(10), num_replicas=0,
                                                                 rank=0),
}


@pytest.mark.filterwarnings("ignore:'pin_memory' argument:UserWarning")  # torch, no GPU
@pytest.mark.parametrize("name", sorted(SAME))
def test_same_value_as_torch(name, backend):
    assert result(SAME[name], "xpnn") == result(SAME[name], "torch")


@pytest.mark.parametrize("name", sorted(RAISES))
def test_raises_torchs_class(name, backend):
    with pytest.raises(Exception) as want:
        result(RAISES[name], "torch")
    with pytest.raises(want.type) as got:
        result(RAISES[name], "xpnn")
    # xpnn's own message, not a NumPy or attribute error leaking through
    assert type(got.value).__module__.split(".")[0] in ("xpnn", "builtins"), got.value
    assert str(got.value), type(got.value)


def test_messages_name_the_function_and_values():
    with pytest.raises(RuntimeError, match=r"default_collate: stack expects each tensor to be "
                       r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"):
        XD.default_collate([np.ones(2, np.float32), np.ones(3, np.float32)])
    with pytest.raises(TypeError, match="element 1 .* got int"):
        XD.default_collate([xpnn.ones(2), 3])
    with pytest.raises(RuntimeError, match="element 1 .* None"):
        XD.default_collate([1, None])
    with pytest.raises(ValueError, match="int64"):
        XD.default_collate([1, 2 ** 63])
    with pytest.raises(IndexError, match="empty"):
        XD.default_collate([])
    with pytest.raises(AssertionError, match="timeout=5"):
        iter(XD.DataLoader([1, 2], timeout=5))
    with pytest.raises(TypeError, match="num_workers .* 1.0"):
        XD.DataLoader([1, 2], num_workers=1.0)
    with pytest.raises(IndexError, match="TensorDataset: .*0-d"):
        XD.TensorDataset(xpnn.tensor(1.0))
    with pytest.raises(TypeError, match=r"entry 0 is 3\.0"):
        XD.random_split(range(10), [3.0, 7.0])
    with pytest.raises(AssertionError, match="ChainDataset .* TensorDataset"):
        XD.ChainDataset([XD.TensorDataset(xpnn.arange(2))])
    with pytest.raises(TypeError, match="list of indices per batch, got int"):
        list(XD.DataLoader(XD.TensorDataset(xpnn.arange(3)), batch_sampler=[0, 1]))


def test_workers_like_torch():
    """Worker processes (real ones, not in-process): batches, order, worker_init_fn,
    timeout, persistent workers, unordered results."""
    cases = {
        "two_workers": lambda T, D: D.DataLoader([1, 2, 3, 4, 5], batch_size=2, num_workers=2,
                                                 worker_init_fn=abs, timeout=60),
        "persistent": lambda T, D: (lambda dl: [list(dl), list(dl)])(D.DataLoader(
            [1, 2, 3, 4], batch_size=2, num_workers=1, persistent_workers=True)),
        "unordered": lambda T, D: sorted(b.tolist() for b in D.DataLoader(
            [1, 2, 3, 4], batch_size=2, num_workers=2, in_order=False)),
    }
    for name, f in cases.items():
        assert result(f, "xpnn") == result(f, "torch"), name


# -- deliberate differences -------------------------------------------------------------------
@pytest.mark.parametrize("batch", [[1.5, 2.5], [2.5, 1], [np.float64(1), np.float64(2)],
                                   [np.ones(2), np.zeros(2)]])
def test_float64_samples_collate_as_float32(batch):
    """No silent float64 (README "Coming from PyTorch"): torch gives float64 here."""
    assert TD.default_collate(batch).dtype == torch.float64
    out = XD.default_collate(batch)
    assert out.dtype == xpnn.float32 and tuple(out.shape) == tuple(np.shape(batch))
    np.testing.assert_array_equal(to_np(out), np.asarray(batch, dtype=np.float32))
    assert XD.default_convert(np.ones(2)).dtype == xpnn.float32


def test_stricter_than_torch():
    """Inputs torch accepts with a silently wrong result; xpnn refuses them."""
    # lengths with a negative entry that still sum to len(dataset): torch builds a Subset
    # of 11 samples of a 10-sample dataset
    TD.random_split(range(10), [11, -1])
    with pytest.raises(ValueError, match="entry 1 is -1"):
        XD.random_split(range(10), [11, -1])
    # too few non-zero weights to draw without replacement: torch draws a zero-weight index
    assert len(list(TD.WeightedRandomSampler([1.0, 0.0, 0.0], 2, replacement=False))) == 2
    with pytest.raises(RuntimeError, match="non-zero weights"):
        XD.WeightedRandomSampler([1.0, 0.0, 0.0], 2, replacement=False)
