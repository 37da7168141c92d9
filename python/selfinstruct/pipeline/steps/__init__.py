"""The steps of the bootstrap, one file each: instructions (1), classification (2), instances (3),
finetuning (4), and alpaca (Alpaca mode, in place of 1-3). Each generation step is a `Step`
(see ../step.py): the same journal loop, with what is the step's own here."""
from .alpaca import AlpacaGenerator, generate_alpaca_tasks
from .classification import ClassificationStep, identify_classification
from .finetuning import prepare_finetuning
from .instances import InstanceStep, generate_instances
from .instructions import InstructionGenerator, generate_instructions

__all__ = [
    "AlpacaGenerator", "ClassificationStep", "InstanceStep", "InstructionGenerator", "generate_alpaca_tasks",
    "generate_instances", "generate_instructions", "identify_classification", "prepare_finetuning",
]
