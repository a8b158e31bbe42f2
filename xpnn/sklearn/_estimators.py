"""NeuralNetClassifier and NeuralNetRegressor."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .. import nn
from ._base import FLOATS, NeuralNet


class NeuralNetClassifier(ClassifierMixin, NeuralNet):
    """A scikit-learn classifier that trains an xpnn module returning logits.

    Args:
        module: None for :func:`default_module` (an MLP: ``module__hidden=100``,
            ``module__dropout=0.0``); a class or callable returning an ``xpnn.nn.Module``,
            called with ``n_features_in`` and ``n_classes`` where its signature has them,
            plus the ``module__`` parameters; or a Module instance, which fit never changes:
            it trains a copy whose submodules with ``reset_parameters()`` (every xpnn layer)
            are re-initialised from ``random_state``, so fitting twice gives one result.
        criterion: loss class, Module or function ``(logits, y)``; None:
            ``nn.CrossEntropyLoss``. A class is called with the ``criterion__`` parameters.
        optimizer: an ``xpnn.optim`` class (or callable ``(params, lr, **kwargs)``), given
            ``lr`` and the ``optimizer__`` parameters (``optimizer__weight_decay=1e-4``).
        lr: learning rate.
        max_epochs: epochs per ``fit`` (``partial_fit`` runs one per call).
        batch_size: samples per training step (and per forward pass in predict).
        backend, device: where the module trains (None: where the module is built, i.e.
            the default backend).
        random_state: None: xpnn's generators as they are (``xpnn.manual_seed``); an int:
            reproducible initial weights, dropout and shuffling, with xpnn's generators
            restored after fit; or a ``numpy.random.RandomState`` to draw a seed from.
        callbacks: a list of ``xpnn.callbacks.Callback``; each fit runs copies of them,
            kept in ``callbacks_``.
        verbose: 0 quiet, 1 one line per epoch, 2 a progress bar (on a terminal).
        **kwargs: the nested parameters ``module__*``, ``optimizer__*``, ``criterion__*``.
            ``get_params()`` lists them, so ``clone`` and ``GridSearchCV`` keep them.

    Attributes:
        classes_: the class labels, sorted; the module's output ``i`` scores ``classes_[i]``.
        n_features_in_: features seen in fit.
        module_, optimizer_, criterion_: the trained objects.
        history_: the ``xpnn.History`` of fit (extended by each ``partial_fit``).
    """

    _size_name = "n_classes"
    _default_criterion = nn.CrossEntropyLoss
    _metrics = ("accuracy",)

    def _validate_xy(self, X, y, first, classes, where):
        X, y = validate_data(self, X, y, reset=first, dtype=FLOATS, allow_nd=True)
        check_classification_targets(y)
        fitted = {}
        if first:
            known = np.unique(y if classes is None else np.asarray(classes))
            if len(known) < 2:
                raise ValueError(f"{where}: only one class ({known[0]!r}) in "
                                 f"{'y' if classes is None else 'classes'}; a classifier "
                                 f"needs at least 2")
            fitted.update(classes_=known, n_out=len(known))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"{where}: classes={classes!r} differs from classes_ "
                             f"{self.classes_!r} of the first call")
        known = fitted.get("classes_", getattr(self, "classes_", None))
        idx = np.minimum(np.searchsorted(known, y), len(known) - 1)
        if not np.array_equal(known[idx], y):
            raise ValueError(f"{where}: y has labels {np.setdiff1d(y, known)!r} that are not "
                             f"in classes {known!r}")
        return X, idx.astype(np.int64), fitted

    def partial_fit(self, X, y, classes=None):
        """Train one epoch, building the module on the first call.

        Args:
            X, y: as in ``fit``.
            classes: every class label; needed on the first call if ``y`` lacks some.
        Returns:
            self
        """
        return self._fit(X, y, 1, warm=True, classes=classes)

    def predict_proba(self, X):
        """Softmax of the logits: (n_samples, n_classes), columns in ``classes_`` order."""
        z = self._logits(X)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of highest logit per sample: (n_samples,), labels from ``classes_``."""
        z = self._logits(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(z, axis=1)]

    def _logits(self, X):
        z = self._outputs(X)
        if z.ndim != 2 or z.shape[1] != len(self.classes_):
            raise ValueError(f"{type(self).__name__}: the module returned outputs of shape "
                             f"{z.shape}; expected (n_samples, {len(self.classes_)}), one "
                             f"logit per class")
        return z


class NeuralNetRegressor(RegressorMixin, NeuralNet):
    """A scikit-learn regressor that trains an xpnn module (one or several outputs).

    Parameters as :class:`NeuralNetClassifier`, except that a module callable gets
    ``n_outputs`` instead of ``n_classes`` and the default criterion is ``nn.MSELoss``.
    ``y`` of shape (n_samples,) trains one output unit and predicts shape (n_samples,).

    Attributes:
        n_outputs_: targets per sample.
        n_features_in_, module_, optimizer_, criterion_, history_: as for the classifier.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_xy(self, X, y, first, classes, where):
        X, y = validate_data(self, X, y, reset=first, dtype=FLOATS, allow_nd=True,
                             multi_output=True, y_numeric=True)
        y2 = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        fitted = {}
        if first:
            fitted.update(n_outputs_=y2.shape[1], n_out=y2.shape[1], _y_ndim=y.ndim)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"{where}: y has {y2.shape[1]} outputs per sample but the "
                             f"first call had {self.n_outputs_}")
        return X, y2, fitted

    def partial_fit(self, X, y):
        """Train one epoch, building the module on the first call. Returns self."""
        return self._fit(X, y, 1, warm=True)

    def predict(self, X):
        """Predicted targets: (n_samples,) if fit saw 1-d y, else (n_samples, n_outputs)."""
        out = self._outputs(X)
        if out.ndim != 2 or out.shape[1] != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: the module returned outputs of shape "
                             f"{out.shape}; expected (n_samples, {self.n_outputs_})")
        return out[:, 0] if self._y_ndim == 1 else out
