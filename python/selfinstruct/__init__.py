"""selfinstruct: Self-Instruct data generation with an exact, fast ROUGE-L deduplication core."""
from .pool import AdmitResult, Decision, Pool
from .rouge import TOKENIZERS, cdist, max_scores, rouge_l, tokenize, top_k
from .rouge_scorer import RougeScorer

__all__ = ["AdmitResult", "Decision", "Pool", "RougeScorer", "TOKENIZERS", "cdist", "max_scores", "rouge_l", "tokenize", "top_k"]
__version__ = "0.1.0"
