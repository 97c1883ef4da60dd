"""Evaluation: conlleval metrics, calibrated confidence, the HTML error report, plots."""
