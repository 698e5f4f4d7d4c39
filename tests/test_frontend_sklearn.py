"""skl2onnx MLPClassifier on sklearn's digits: ai.onnx.ml ops and Cast.

With ``zipmap=False`` the graph (Cast, MatMul, Add, Relu, Softmax, ArgMax,
ArrayFeatureExtractor, Reshape, Cast) imports whole: labels and
probabilities must match onnxruntime.  With ZipMap the import is refused
with a message that says how to export instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest

from spintron_nn.backends.float_exec import run_float
from spintron_nn.errors import UnsupportedError
from spintron_nn.frontend import load_model
from spintron_nn.ir.module_info import output_names

sklearn = pytest.importorskip("sklearn")
skl2onnx = pytest.importorskip("skl2onnx")


@pytest.fixture(scope="module")
def digits_classifier():
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warning: accuracy is not the point
        clf = MLPClassifier(hidden_layer_sizes=(24,), max_iter=60, random_state=0).fit(x[:1200], y[:1200])
    return clf, x[1200:]


def export(clf, x, zipmap: bool, opset: int):
    return skl2onnx.to_onnx(clf, x[:1], options={id(clf): {"zipmap": zipmap}}, target_opset=opset)


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_mlp_classifier_without_zipmap(digits_classifier, opset):
    clf, x_test = digits_classifier
    model = export(clf, x_test, zipmap=False, opset=opset)
    module = load_model(model)
    labels, probabilities = run_float(module, [x_test])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref_labels, ref_probabilities = session.run(None, {session.get_inputs()[0].name: x_test})
    assert output_names(module) == [o.name for o in model.graph.output]
    np.testing.assert_array_equal(labels, ref_labels)
    bound = 1e-4 * (1 + np.abs(ref_probabilities).max())
    assert np.abs(probabilities - ref_probabilities).max() <= bound
    np.testing.assert_array_equal(labels, clf.predict(x_test))


def test_zipmap_is_refused_with_the_way_out(digits_classifier):
    clf, x_test = digits_classifier
    model = export(clf, x_test, zipmap=True, opset=17)
    with pytest.raises(UnsupportedError, match=r"ZipMap, domain ai.onnx.ml.*'zipmap': False"):
        load_model(model)
