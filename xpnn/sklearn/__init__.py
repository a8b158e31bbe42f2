"""scikit-learn estimators around xpnn modules: ``NeuralNetClassifier``, ``NeuralNetRegressor``.

They pass scikit-learn's estimator checks, so they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score`` and ``clone``. Training is ``xpnn.fit`` on an ``xpnn.data.DataLoader``;
inference is ``xpnn.predict``. Inputs are validated with scikit-learn's own helpers and cast
to float32; outputs come back in the input's floating dtype (float64 for float64 or integer
input, as scikit-learn's estimators do), while the arithmetic stays float32.

Pickling: scikit-learn needs estimators to pickle (joblib workers, saved models). xpnn's
objects pickle and deep-copy natively: a Backend as its name and device, a Tensor as a NumPy
copy of its data put back on its backend when loaded. This is the one place xpnn pickles,
and only its own objects; weights files (``xpnn.save``) stay pickle-free safetensors.

Layout: ``_base.py`` holds what both estimators share (parameters, building, training),
``_estimators.py`` the two estimators.
"""
try:
    from sklearn.utils import validation as _validation
except ImportError:
    _validation = None
if not hasattr(_validation, "validate_data"):  # new in scikit-learn 1.6, as are the Tags
    raise ImportError("xpnn.sklearn needs scikit-learn >= 1.6, which the data extra installs: "
                      "pip install 'xpnn[data]'")
del _validation

from ._base import default_module  # noqa: E402
from ._estimators import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "default_module"]
