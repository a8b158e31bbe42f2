"""Resuming a DataLoader mid-run: ``set_epoch``, ``state_dict`` and ``load_state_dict``.

A mixin of :class:`~xpnn.utils.data.DataLoader` (kept apart from the loading code): what an
epoch draws from the loader's own generators (``generator=``/``seed=``, a sampler's
``generator``), fast-forwarded or saved and restored as host data. xpnn's global generators
are a checkpoint's business (``xpnn.get_rng_state``).
"""
from __future__ import annotations

import numbers

from .fastpath import VECTOR_SAMPLERS
from .sampler import BatchSampler, generator_state, set_generator_state


class ResumeMixin:
    """set_epoch / state_dict / load_state_dict of the DataLoader."""

    def _samplers(self):
        seen = []
        for s in (self.sampler, self.batch_sampler, getattr(self.batch_sampler, "sampler",
                                                           None)):
            if s is not None and all(s is not t for t in seen):
                seen.append(s)
        return seen

    def _random_source(self):
        """What draws an epoch's order: the sampler under a BatchSampler, or the one given."""
        src = self._index_sampler
        return src.sampler if type(src) is BatchSampler else src

    def _skip_epoch(self):
        """Draw what one epoch draws from generators of the loader's own, loading nothing."""
        self._epoch += 1
        if self.num_workers and self._fast is None and self.generator is not None:
            self._worker_seed()
        src = self._random_source()
        if getattr(src, "generator", None) is None:
            return  # xpnn's global generators (restored by a checkpoint) or none at all
        if type(src) in VECTOR_SAMPLERS:
            src._indices()
        else:
            for _ in src:
                pass

    def set_epoch(self, epoch):
        """Say which epoch the next iteration is (0-based), e.g. when resuming a run.

        Passes ``epoch`` to a sampler that has ``set_epoch`` (``DistributedSampler``), and,
        when the loader has drawn fewer epochs than ``epoch``, draws the missing epochs'
        orders from its own generators (``generator=``/``seed=``, a sampler's
        ``generator``) without loading anything, so a resumed run shuffles as the
        uninterrupted one did. xpnn's global generators (``generator=None``) are not
        advanced: a checkpoint restores them. Epochs already drawn are not rewound (use
        :meth:`load_state_dict` for that).
        """
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        for s in self._samplers():
            if hasattr(s, "set_epoch"):
                s.set_epoch(int(epoch))
        while self._epoch < epoch:
            self._skip_epoch()

    def state_dict(self):
        """The shuffling state as host data (ints, strings, dicts, NumPy arrays): the epochs
        drawn, the loader's and the sampler's own generators, a DistributedSampler's epoch,
        the persistent workers' seed. Samplers on xpnn's global generators keep their state
        there (``xpnn.get_rng_state``)."""
        src = self._random_source()
        sampler_epoch = next((s.epoch for s in self._samplers()
                              if hasattr(s, "set_epoch") and hasattr(s, "epoch")), None)
        return {"epoch": self._epoch, "generator": generator_state(self.generator),
                "sampler_generator": generator_state(getattr(src, "generator", None)),
                "sampler_epoch": sampler_epoch, "worker_seed": self._pool_seed}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`: the next iteration draws what the saved loader's
        next one would have."""
        src_gen = getattr(self._random_source(), "generator", None)
        for name, gen in (("generator", self.generator), ("sampler_generator", src_gen)):
            if state.get(name) is not None:
                if gen is None:
                    raise ValueError(f"DataLoader.load_state_dict: the state holds a "
                                     f"{name} state but this loader's {name} is None")
                set_generator_state(gen, state[name])
        if state.get("sampler_epoch") is not None:
            for s in self._samplers():
                if hasattr(s, "set_epoch"):
                    s.set_epoch(state["sampler_epoch"])
        self._epoch = int(state.get("epoch", 0))
        self._pool_seed = state.get("worker_seed")
