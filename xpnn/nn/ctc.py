"""The CTC loss as a module (its own file: xpnn/nn/loss.py is shared by many losses)."""
from __future__ import annotations

from .. import functional as F
from .loss import _Loss


class CTCLoss(_Loss):
    """F.ctc_loss as a module, torch.nn.CTCLoss's signature.

    Args:
        blank: the blank label (an int >= 0; checked against C at the call).
        reduction: "mean" (each loss divided by its target length, then the batch mean),
            "sum" or "none".
        zero_infinity: losses of impossible alignments (inf) and their gradients become 0.

    Call with (log_probs (T, N, C), targets, input_lengths, target_lengths); see
    :func:`xpnn.nn.functional.ctc_loss`.
    """

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        if isinstance(blank, bool) or not isinstance(blank, int) or blank < 0:
            raise ValueError(f"CTCLoss: blank must be an int >= 0, got {blank!r}")
        self.blank, self.zero_infinity = blank, bool(zero_infinity)

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)
