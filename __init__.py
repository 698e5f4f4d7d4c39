"""SpinTron-NN-Kit: compile neural networks onto spintronic crossbars.

    import spintron_nn as sn
    design = sn.compile("model.onnx", sn.CompileConfig(adc_bits=6), calibration=x)
    design.run(x, backend="sim"); design.save("out/"); sn.load("out/")
"""

__version__ = "0.1.0"

# Resolved on first use so that `import spintron_nn` stays light (no xDSL,
# onnx or torch until something needs them).
_LAZY = {
    "compile": ("spintron_nn.api", "compile"),
    "CompileConfig": ("spintron_nn.config", "CompileConfig"),
    "Design": ("spintron_nn.design", "Design"),
    "load": ("spintron_nn.design", "load"),
    "MTJConfig": ("spintron_nn.facade", "MTJConfig"),
    "SpintronConverter": ("spintron_nn.facade", "SpintronConverter"),
    "SpintronError": ("spintron_nn.errors", "SpintronError"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spintron_nn' has no attribute {name!r}")
