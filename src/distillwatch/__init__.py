"""distillwatch: detect, stop, attribute and share adversarial distillation of model APIs."""

__version__ = "0.1.0"
