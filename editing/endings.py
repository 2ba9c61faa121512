"""How the model ends an answer, for `train.terminate: model`.

A corrected answer trained followed by the end-of-text token alone (`terminate: eos`)
teaches the model to stop right after the answer, and that habit spreads: after a few
edits the toy model answered untouched capital questions ` Pepograd` where it used to
say ` Pepograd.`. `terminate: model` trains each corrected answer followed by the
ending the model itself writes after the answer it gives to the same prompt (its
greedy continuation, up to the end-of-text token): the full stop in ` Gaiskaport.`.
A prompt whose continuation does not stop within `ANSWER_TOKENS`, or stops without
punctuation, takes the ending the model writes most often over the edit's prompts,
and the end-of-text token alone when it writes none.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from editing.probes.scoring import decode_text, greedy_token_ids
from editing.tokens import format_prompt
from editing.training_data import TrainingExample

ANSWER_TOKENS = 24  # a greedy answer that has not stopped by then is not a short answer with an ending
_ENDING = re.compile(r"[^\w\s]+$")  # the trailing punctuation of a finished answer: ".", "!", "?\"", ...


def answer_ending(answer: str) -> str:
    """The punctuation a finished answer ends with (`.` for ` Gaiskaport.`); empty when it has none."""
    found = _ENDING.search(answer.rstrip())
    return found.group(0) if found else ""


def model_endings(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: list[str], chat: bool = False
) -> dict[str, str]:
    """Per prompt, the ending the model writes after its own answer; empty where it does not stop in time."""
    unique = list(dict.fromkeys(prompts))
    formatted = [format_prompt(tokenizer, p, chat) for p in unique]
    answers = greedy_token_ids(model, tokenizer, formatted, ANSWER_TOKENS)
    return {
        prompt: answer_ending(decode_text(tokenizer, ids)) if len(ids) < ANSWER_TOKENS else ""
        for prompt, ids in zip(unique, answers, strict=True)
    }


def with_model_endings(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, examples: list[TrainingExample], chat: bool = False
) -> tuple[list[TrainingExample], Counter]:
    """The terminated examples with the model's ending added (unless the answer already ends in
    punctuation of its own), and how many examples got each ending (`""`: the end-of-text token alone).

    A prompt the model answers without an ending takes the ending it writes most often over these
    prompts: on an edited version, an earlier edit trained with end-of-text alone has erased the
    full stop after its own answer, and replaying that edit should not keep the erasure."""
    terminated = [e.prompt for e in examples if e.terminated]
    endings = model_endings(model, tokenizer, terminated, chat) if terminated else {}
    written = Counter(endings[p] for p in terminated if endings[p])
    usual = written.most_common(1)[0][0] if written else ""
    counts: Counter = Counter()
    out = []
    for e in examples:
        if not e.terminated:
            out.append(e)
            continue
        # an answer that already ends in punctuation keeps its own (` Velmora!` gets no `.` after it)
        ending = "" if answer_ending(e.completion) else endings[e.prompt] or usual
        counts[ending] += 1
        out.append(replace(e, ending=ending))
    return out, counts
