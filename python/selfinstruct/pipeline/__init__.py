"""The Self-Instruct bootstrap pipeline (and its Alpaca variant) as a library.

Steps: `generate_instructions` (1), `identify_classification` (2), `generate_instances` (3),
`prepare_finetuning` (4), or `generate_alpaca_tasks` then step 4 in Alpaca mode; `bootstrap` runs
them all. Each generation step takes `(config, backend)`: any object with the `Backend` interface
(`selfinstruct.backends.base`) works, yours included. Each step reads and writes files in
`config.output_dir` and resumes a killed run.
"""
from .config import (AlpacaConfig, ClassificationConfig, FinetuneConfig, InstanceConfig, InstructionConfig,
                     PipelineConfig)
from .progress import StepSummary
from .runner import bootstrap, pending_steps, run_steps
from .steps import (generate_alpaca_tasks, generate_instances, generate_instructions, identify_classification,
                    prepare_finetuning)

__all__ = [
    "AlpacaConfig", "ClassificationConfig", "FinetuneConfig", "InstanceConfig", "InstructionConfig", "PipelineConfig",
    "StepSummary", "bootstrap", "generate_alpaca_tasks", "generate_instances", "generate_instructions",
    "identify_classification", "pending_steps", "prepare_finetuning", "run_steps",
]
