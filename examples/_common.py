"""What the MLP examples share: the common command-line flags and the run set-up.

Each example builds its parser here, adds its own flags, and calls ``setup(args)`` first::

    p = example_parser(__doc__, epochs=40, lr=0.01, batch_size=32)
    p.add_argument("--noise", type=float, default=0.1)
    args = p.parse_args(argv)
    setup(args)
"""
import argparse

import xpnn


def example_parser(doc, *, epochs, lr, lr_help="Adam learning rate", batch_size=None,
                   threads=False, epochs_help=None):
    """An ArgumentParser with the flags every example has.

    Flags: ``--backend`` (numpy), ``--device`` (None), ``--epochs``, ``--batch-size`` (only
    if ``batch_size`` is given), ``--lr``, ``--threads`` (only if ``threads``), ``--seed``
    (0), ``--out`` (None: no plots).

    Args:
        doc: the example's module docstring; its first line describes the parser.
        epochs: default of ``--epochs``.
        lr: default of ``--lr``.
        lr_help: help text of ``--lr``.
        batch_size: default of ``--batch-size``, or None for an example without the flag.
        threads: whether the example takes ``--threads`` (a fixed CPU thread count; by
            default xpnn's thread policy decides).
        epochs_help: help text of ``--epochs`` (a generic one when None).
    Returns:
        argparse.ArgumentParser: the caller adds its own flags, then parses.
    """
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--backend", default="numpy",
                   help="numpy, torch, cupy or array_api_strict (default: numpy)")
    p.add_argument("--device", default=None, help="device on that backend, e.g. cuda:0")
    p.add_argument("--epochs", type=int, default=epochs,
                   help=epochs_help or f"passes over the training set (default: {epochs})")
    if batch_size is not None:
        p.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"training batch size (default: {batch_size})")
    p.add_argument("--lr", type=float, default=lr, help=f"{lr_help} (default: {lr})")
    if threads:
        p.add_argument("--threads", type=int, default=None,
                       help="pin the CPU thread count (default: xpnn's policy follows the "
                            "machine's load)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory for PNG plots (default: none)")
    return p


def limit_threads(n, backend=None):
    """Use ``n`` CPU threads: ``xpnn.set_num_threads(n)``, which also sets torch's pool.

    Not needed for speed: by default xpnn follows the machine's load (all cores when they
    are free, fewer when other processes hold some; see xpnn/cpu.py). The flag is there to
    pin a count, for timings or to leave cores to other work.

    Args:
        n: number of threads (>= 1).
        backend: the example's ``--backend`` (unused; kept for callers that pass it).
    """
    xpnn.set_num_threads(n)


def setup(args):
    """Start a run: limit the threads if ``--threads`` was given, then seed xpnn.

    Args:
        args: the parsed namespace of ``example_parser`` (``threads`` may be absent).
    """
    if getattr(args, "threads", None):
        limit_threads(args.threads, args.backend)
    xpnn.manual_seed(args.seed)
