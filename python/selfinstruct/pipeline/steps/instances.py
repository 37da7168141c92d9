"""Step 3: instance generation, in durable batches.

Each machine instruction whose classification is known gets one greedy completion: input-first
for ordinary tasks, output-first ("Class label: ...", then an input) for classification tasks.
Records follow the reference's machine_generated_instances.jsonl (raw text; parsing and filtering
happen in step 4) plus `is_classification`; batches are committed to state/instances.jsonl.
"""
from __future__ import annotations


from ..backends.base import Backend
from .classification import check_prefix, read_clf_decisions, read_instructions
from .common import INSTANCES_FILE, chat_formatter, generate, state_path, step_settings
from .config import PipelineConfig
from .progress import StepProgress, StepSummary
from .prompts import instance_prompt
from .state import Journal, derive_seed

STEP = "instances"


def generate_instances(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 3 for every instruction that step 2 has classified."""
    chat = chat_formatter(backend, config.prompt_style)
    cfg = config.instances
    decisions = read_clf_decisions(config)
    tasks = []
    for record in read_instructions(config):
        if record["instruction"] not in decisions:
            break  # step 2 has not reached it yet: stop at the first gap, keeping step 1's order
        tasks.append(record)
    summary = StepSummary("generate-instances", kept_key="tasks")
    data_path = config.output_dir / INSTANCES_FILE
    settings = step_settings(config, "classification", "instances")
    with Journal(STEP, data_path, state_path(config, STEP), settings) as journal:
        done, state = journal.recover(adopt=lambda records: {"next_batch": 0, "counts": {}})
        check_prefix(done, [task["instruction"] for task in tasks], INSTANCES_FILE)
        summary.counts.update((state or {}).get("counts", {}))
        progress = StepProgress(summary, len(tasks), len(done), config.progress, unit="task")
        try:
            position, batch_index = len(done), (state or {}).get("next_batch", 0)
            while position < len(tasks):
                batch = tasks[position: position + cfg.prompts_per_call]
                records = []
                # one call per kind: the two kinds have different token budgets
                for classification in (False, True):
                    group = [task for task in batch if decisions[task["instruction"]] == classification]
                    if not group:
                        continue
                    prompts = [instance_prompt(t["instruction"], classification, cfg.num_demonstrations) for t in group]
                    rendered = [prompt.render(chat) for prompt in prompts]
                    params = cfg.sampling(derive_seed(config.seed, STEP, batch_index, classification), classification)
                    results = generate(backend, rendered, params, progress)
                    for task, text, completions in zip(group, rendered, results):
                        completion = completions[0]
                        records.append((task, {
                            "instruction": task["instruction"],
                            "raw_instances": completion.text,
                            "instance_metadata": {"prompt": text, "response": completion.text,
                                                  "finish_reason": completion.finish_reason},
                            "instruction_metadata": task.get("metadata", {}),
                            "most_similar": task.get("most_similar", {}),
                            "avg_similarity_score": task.get("avg_similarity_score"),
                            "is_classification": classification,
                        }))
                        summary.counts["length_cut" if completion.finish_reason == "length" else "complete"] += 1
                order = {id(task): i for i, task in enumerate(batch)}
                ordered = [record for _, record in sorted(records, key=lambda pair: order[id(pair[0])])]
                summary.counts["tasks"] += len(ordered)
                position += len(batch)
                batch_index += 1
                journal.commit(ordered, {"next_batch": batch_index, "counts": dict(summary.counts)})
                progress.advance(len(batch))
        finally:
            progress.close()
    summary.outputs = (str(data_path),)
    return summary
