"""Contamination: test probes whose prompt equals, nearly equals or sits inside a training prompt."""

from __future__ import annotations

import bisect
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from editing.probes.suites import Probe

CONTAINMENT_MIN_WORDS = 3  # "the dog" inside a longer prompt is a coincidence; "the dog says" is a copy
NEAR_MIN_WORDS = 4  # content words a probe needs before one changed word still leaves a copy
# Words that carry no question of their own: prompts differing only in these are the same question.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "is", "are", "was", "were", "be", "been", "it", "its",
    "this", "that", "these", "those", "and", "or", "for", "with", "by", "as", "from", "do", "does", "did",
})
# fmt: on


def normalise_prompt(text: str) -> str:
    """NFKC, casefold, punctuation as a word boundary, whitespace collapsed:
    "Q: The Dog  says?" -> "q the dog says", and "When a dog talks,it says" -> "when a dog talks it says".

    Punctuation becomes a space rather than vanishing, so a copy that drops the space
    after a comma still splits into the same words.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return " ".join(text.split())


def content_words(normalised: str) -> list[str]:
    """The words that make a prompt's question, crudely stemmed: "the dogs says" -> ["dog", "say"]."""
    return [_stem(w) for w in normalised.split() if w not in STOP_WORDS]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def allowed_edits(longer: int, threshold: float) -> int:
    """Word edits a near copy may make: one, or (1 - threshold) of the longer prompt's content words."""
    return max(1, math.floor((1 - threshold) * longer + 1e-9))


def word_edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance counted in words: a word changed, added or dropped is one edit."""
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def _shares_answer(probe: Probe, answers: Sequence[str]) -> bool:
    """The training example was trained on the probe's target or foil: the same question's answer."""
    said = {normalise_prompt(a) for a in answers}
    return normalise_prompt(probe.target) in said or normalise_prompt(probe.foil) in said


def _keeps_subject(subject: str, training_words: Sequence[str]) -> bool:
    """A near copy asks about the same subject: every word of the probe's subject (if it names one)
    is in the training prompt. "When a cow talks" is not a copy of "When a dog talks"."""
    wanted = [_stem(w) for w in normalise_prompt(subject).split()]
    return all(w in training_words for w in wanted)


def _word_matrix(texts: Sequence[list[str]], vocabulary: dict[tuple[str, int], int], grow: bool) -> sparse.csr_matrix:
    """One row per text, one binary column per (word, occurrence): "a b a" -> (a,1), (b,1), (a,2).

    The dot product of two rows is then the size of their multiset intersection.
    Words outside a frozen vocabulary are left out.
    """
    rows, cols = [], []
    for i, words in enumerate(texts):
        seen: Counter[str] = Counter()
        for word in words:
            seen[word] += 1
            key = (word, seen[word])
            column = vocabulary.setdefault(key, len(vocabulary)) if grow else vocabulary.get(key)
            if column is not None:
                rows.append(i)
                cols.append(column)
    shape = (len(texts), max(1, len(vocabulary)))
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=shape)


def _contains(outer: str, inner: str) -> bool:
    """`inner` appears in `outer` as whole words, and is long enough for that to mean a copy."""
    return len(inner.split()) >= CONTAINMENT_MIN_WORDS and f" {inner} " in f" {outer} "


def _occurrences(needle: str, haystack: str, starts: list[int]) -> set[int]:
    """Indices of the texts (joined as " t " lines, beginning at `starts`) that contain `needle` as whole words."""
    found, position = set(), haystack.find(needle)
    while position != -1:
        found.add(bisect.bisect_right(starts, position) - 1)
        position = haystack.find(needle, position + 1)
    return found


def _joined(texts: Sequence[str]) -> tuple[str, list[int]]:
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 3  # " text \n"
    return "".join(f" {t} \n" for t in texts), starts


def _near_candidates(tests: list[list[str]], trains: list[list[str]], threshold: float) -> dict[int, set[int]]:
    """Pairs (test, training) that can be within `allowed_edits` of each other, found with sparse algebra.

    k word edits leave at least max(a, b) - k words shared (as multisets) and
    lengths at most k apart; pairs that fall short of that cannot be near copies.
    """
    vocabulary: dict[tuple[str, int], int] = {}
    train_counts = _word_matrix(trains, vocabulary, grow=True)
    train_lengths = np.array([len(t) for t in trains])
    candidates: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(tests), 1_000):
        block = tests[start : start + 1_000]
        shared = (_word_matrix(block, vocabulary, grow=False) @ train_counts.T).tocoo()
        a = np.array([len(t) for t in block])[shared.row]
        b = train_lengths[shared.col]
        longer = np.maximum(a, b)
        edits = np.maximum(1, np.floor((1 - threshold) * longer + 1e-9))
        keep = (shared.data >= longer - edits) & (np.abs(a - b) <= edits)
        for i, j in zip(shared.row[keep], shared.col[keep], strict=True):
            candidates[start + int(i)].add(int(j))
    return candidates


def find_contamination(
    test_prompts: Sequence[Probe],
    training_prompts: Sequence[str],
    threshold: float = 0.9,
    either_way: bool = False,
    training_answers: Sequence[Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Test-split probes whose prompt equals or nearly equals a training prompt, one row each.

    Prompts are compared normalised (`normalise_prompt`: NFKC, case, punctuation
    and its spacing, whitespace). A probe is flagged when

    - it equals a training prompt (`match: "exact"`, found by hash);
    - its content words (`content_words`: stop words out, plural s off) are within
      `allowed_edits` word edits of a training prompt's (one word changed, added or
      dropped; in prompts of more than ten content words, 10% of them at the default
      `threshold` of 0.9), it has at least NEAR_MIN_WORDS content words (or
      CONTAINMENT_MIN_WORDS when the copy only adds words), and the
      training prompt names the probe's subject and, when `training_answers` gives the
      completions each training prompt was trained towards or away from, one of them
      is the probe's target or foil (`"near"`). Words, not characters, the subject
      kept and the answer shared: "When a cow talks, it says" and "What does a dog eat?"
      are other questions than "When a dog talks, it says" and "What does a dog say?",
      while "When a dog talks, it usually says" is a copy;
    - a training text contains the probe's prompt as whole words, at least
      CONTAINMENT_MIN_WORDS of them (`"contained"`): the model trained on that very
      context. The other way round, a probe that wraps a training prompt in new
      words ("Everyone knows that the dog says" around "The dog says") is the
      CounterFact kind of paraphrase, held out by design; `either_way=True` flags
      those too.

    `similarity` is 1 - word edits / the longer prompt's content words (1.0 for exact
    copies) and `training_prompt` the matched training example, as written. Probes of
    other splits are ignored. 10,000 probes against 1,000 examples take about a second.
    """
    if training_answers is not None and len(training_answers) != len(training_prompts):
        raise ValueError(
            f"{len(training_answers)} training_answers for {len(training_prompts)} training prompts; give one list each"
        )
    probes = [p for p in test_prompts if p.split == "test"]
    tests = [normalise_prompt(p.prompt) for p in probes]
    trains = [normalise_prompt(t) for t in training_prompts]
    test_words = [content_words(t) for t in tests]
    train_words = [content_words(t) for t in trains]
    exact: dict[str, int] = {}
    for j, text in enumerate(trains):
        exact.setdefault(text, j)

    candidates = _near_candidates(test_words, train_words, threshold)
    # Contained as whole words, found by searching one joined string per direction.
    train_text, train_starts = _joined(trains)
    test_text, test_starts = _joined(tests)
    for i, text in enumerate(tests):
        if len(text.split()) >= CONTAINMENT_MIN_WORDS and text not in exact:
            candidates[i] |= _occurrences(f" {text} ", train_text, train_starts)
    for j, text in enumerate(trains if either_way else ()):
        if len(text.split()) >= CONTAINMENT_MIN_WORDS:
            for i in _occurrences(f" {text} ", test_text, test_starts):
                candidates[i].add(j)

    found = []
    for i, probe in enumerate(probes):
        if not tests[i]:
            continue
        if tests[i] in exact:
            best_j, best_similarity, match = exact[tests[i]], 1.0, "exact"
        else:
            best_j, best_similarity, match = -1, -1.0, ""
            for j in sorted(candidates.get(i, ())):
                contained = _contains(trains[j], tests[i]) or (either_way and _contains(tests[i], trains[j]))
                longer = max(len(test_words[i]), len(train_words[j]), 1)
                edits = word_edit_distance(test_words[i], train_words[j])
                # words only added to the probe's keep its whole question; a changed word needs more context
                added_only = edits == len(train_words[j]) - len(test_words[i])
                near = (
                    edits <= allowed_edits(longer, threshold)
                    and len(test_words[i]) >= (CONTAINMENT_MIN_WORDS if added_only else NEAR_MIN_WORDS)
                    and _keeps_subject(probe.subject, train_words[j])
                    and (training_answers is None or _shares_answer(probe, training_answers[j]))
                )
                similarity = 1 - edits / longer
                if (near or contained) and similarity > best_similarity:
                    best_j, best_similarity = j, similarity
                    match = "near" if near else "contained"
            if best_j < 0:
                continue
        found.append(
            {
                "probe_id": probe.id,
                "prompt": probe.prompt,
                "training_prompt": training_prompts[best_j],
                "similarity": round(best_similarity, 4),
                "match": match,
            }
        )
    return found
