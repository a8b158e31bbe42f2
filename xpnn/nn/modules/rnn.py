"""torch.nn.modules.rnn: xpnn.nn's classes under PyTorch's module path."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, [
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"],
    fallback=("xpnn.nn.recurrent",))
