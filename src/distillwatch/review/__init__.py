"""The analyst console: a web application over a store of imported scans and replays.

Analysts review what detection found, decide (confirm, dismiss, escalate), act through the
enforcement store and the sharing policy's preview, and every step lands in an audit log.
Verdicts flow back as the labels ``distillwatch calibrate --verdicts`` reads.
"""
