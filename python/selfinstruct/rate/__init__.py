"""Human evaluation: a local, blinded web page to rate model responses A-D, and its results.

`selfinstruct rate` serves the page (`RatingSet` + `RatingStore` + `create_app` + `RatingServer`);
`selfinstruct rate-results` writes the table, figure and agreement (`write_results`).
"""
from .agreement import PairAgreement, cohen_kappa, pairwise_agreement
from .app import create_app
from .blinding import RatingSet
from .levels import LETTERS, LEVELS, Level
from .predictions import Response, load_instructions, load_models, load_predictions
from .raters import check_rater_name, rater_order
from .results import ModelCounts, Results, summarize
from .results_files import render_results_page, write_results
from .server import RatingServer
from .store import Rating, RatingStore, latest_ratings, read_ratings

__all__ = [
    "LETTERS", "LEVELS", "Level", "ModelCounts", "PairAgreement", "Rating", "RatingServer",
    "RatingSet", "RatingStore", "Response", "Results", "check_rater_name", "cohen_kappa", "create_app",
    "latest_ratings", "load_instructions", "load_models", "load_predictions", "pairwise_agreement",
    "rater_order", "read_ratings", "render_results_page", "summarize", "write_results",
]
