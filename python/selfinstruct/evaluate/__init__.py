"""Evaluation as Self-Instruct evaluates: SuperNI metrics identical to natural-instructions'
evaluation script, ROUGE-L on the user-oriented instructions, and predictions from any backend.

    from selfinstruct.evaluate import load_superni, evaluate_superni, read_predictions
    report = evaluate_superni(load_superni("natural-instructions"), read_predictions("predictions.jsonl"))
    report.metrics["rougeL_default_track"]

    from selfinstruct.evaluate import PredictConfig, predict
    predict(load_superni("natural-instructions"), backend, PredictConfig("predictions.jsonl"))
"""
from .instruction_file import load_instruction_file
from .items import EvalItem
from .metrics import exact_match, normalize_answer
from .predict import PredictConfig, PredictSummary, predict
from .predictions import read_predictions
from .superni import SuperNIReport, evaluate_superni
from .superni_data import load_reference_file, load_superni
from .user_oriented import ModelScore, format_table, load_user_oriented, score_user_oriented

__all__ = [
    "EvalItem", "ModelScore", "PredictConfig", "PredictSummary", "SuperNIReport", "evaluate_superni", "exact_match",
    "format_table", "load_instruction_file", "load_reference_file", "load_superni", "load_user_oriented",
    "normalize_answer", "predict", "read_predictions", "score_user_oriented",
]
