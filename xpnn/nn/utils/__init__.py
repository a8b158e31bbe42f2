"""xpnn.nn.utils: gradient clipping, parameter vectors and (in ``rnn``) padded and packed
sequences, under PyTorch's path (``torch.nn.utils``)."""
from ...functional import cat, reshape
from ...optim.clip import clip_grad_norm_, clip_grad_value_
from . import rnn  # noqa: F401  (torch.nn.utils.rnn)


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    return cat([reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive pieces of the 1-D ``vec`` into the parameters, in place."""
    start = 0
    for p in parameters:
        n = p.numel()
        p._assign(reshape(vec[start:start + n], p.shape).array)
        start += n
    if start != vec.numel():
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements, the "
                         f"parameters {start}")


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]
