"""The Self-Instruct bootstrap pipeline (and its Alpaca variant) as a library.

Steps: `generate_instructions` (1), `identify_classification` (2), `generate_instances` (3),
`prepare_finetuning` (4), or `generate_alpaca_tasks` then step 4 in Alpaca mode; `bootstrap` runs
them all. Each step reads and writes files in `config.output_dir` and resumes a killed run.
"""
from .alpaca_mode import generate_alpaca_tasks
from .runner import bootstrap, run_steps
from .classification import identify_classification
from .config import (AlpacaConfig, ClassificationConfig, FinetuneConfig, InstanceConfig, InstructionConfig,
                     PipelineConfig)
from .finetuning import prepare_finetuning
from .instances import generate_instances
from .instructions import generate_instructions
from .progress import StepSummary

__all__ = [
    "AlpacaConfig", "ClassificationConfig", "FinetuneConfig", "InstanceConfig", "InstructionConfig", "PipelineConfig",
    "StepSummary", "bootstrap", "generate_alpaca_tasks", "generate_instances", "generate_instructions",
    "identify_classification", "prepare_finetuning", "run_steps",
]
