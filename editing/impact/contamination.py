"""Contamination: test probes whose prompt equals, nearly equals or sits inside a training prompt."""

from __future__ import annotations

import bisect
import difflib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from editing.probes.suites import Probe

CONTAINMENT_MIN_WORDS = 3  # "the dog" inside a longer prompt is a coincidence; "the dog says" is a copy
# Words that carry no question of their own: prompts differing only in these are the same question.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "is", "are", "was", "were", "be", "been", "it", "its",
    "this", "that", "these", "those", "and", "or", "for", "with", "by", "as", "from", "do", "does", "did",
})
# fmt: on


def normalise_prompt(text: str) -> str:
    """Casefold, drop punctuation, collapse whitespace: "Q: The Dog  says?" -> "q the dog says"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(text.split())


def content_words(normalised: str) -> list[str]:
    """The words that make a prompt's question, crudely stemmed: "the dogs says" -> ["dog", "say"]."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in normalised.split() if w not in STOP_WORDS]


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
    """Pairs (test, training) that can reach a word ratio of `threshold`, found with sparse algebra.

    difflib's ratio is 2M / (a + b) with M matched words, and M is at most the
    multiset overlap of the two word lists (difflib's `quick_ratio`); pairs whose
    overlap or lengths fall short cannot reach the threshold.
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
        keep = (2 * shared.data >= threshold * (a + b)) & (2 * np.minimum(a, b) >= threshold * (a + b))
        for i, j in zip(shared.row[keep], shared.col[keep], strict=True):
            candidates[start + int(i)].add(int(j))
    return candidates


def find_contamination(
    test_prompts: Sequence[Probe],
    training_prompts: Sequence[str],
    threshold: float = 0.9,
    either_way: bool = False,
) -> list[dict[str, Any]]:
    """Test-split probes whose prompt equals or nearly equals a training prompt, one row each.

    Prompts are compared normalised (`normalise_prompt`). A probe is flagged when

    - it equals a training prompt (`match: "exact"`, found by hash);
    - difflib's ratio over their content words (`content_words`: stop words out,
      plural s off) reaches `threshold` (`"near"`). Words, not characters: "When a
      dog talks, it says" and "When a cow talks, it says" are 92% the same
      characters but a different question, while "the dogs" and "the dog" are not;
    - a training text contains the probe's prompt as whole words, at least
      CONTAINMENT_MIN_WORDS of them (`"contained"`): the model trained on that very
      context. The other way round, a probe that wraps a training prompt in new
      words ("Everyone knows that the dog says" around "The dog says") is the
      CounterFact kind of paraphrase, held out by design; `either_way=True` flags
      those too.

    `similarity` is the content-word ratio (1.0 for exact copies). Probes of other
    splits are ignored. 10,000 probes against 1,000 examples take about a second.
    """
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
                similarity = difflib.SequenceMatcher(None, test_words[i], train_words[j], autojunk=False).ratio()
                if (similarity >= threshold or contained) and similarity > best_similarity:
                    best_j, best_similarity = j, similarity
                    match = "near" if similarity >= threshold else "contained"
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
