"""The CLI's commands, one file each; ``distillwatch.cli`` puts them together.

Each command is a thin layer: it parses options, calls one stage's public function, and prints
a summary. The stages never import this package.
"""
