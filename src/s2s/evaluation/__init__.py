"""Evaluation: sacreBLEU scores and reports."""
