"""SpinTron-NN-Kit: compile neural networks onto spintronic crossbars."""

__version__ = "0.1.0"
