"""Build the toy-world model: corpus -> byte-level BPE tokenizer -> tiny GPT-2 -> eval.

`build_toyworld()` trains deterministically on the CPU in about a minute and
writes an ordinary Hugging Face folder (config, safetensors weights, tokenizer)
plus `world_eval.json`. It refuses to save a model that misses the bar.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from editing.errors import RunFailed
from editing.toyworld.corpus import corpus_sentences, shuffled
from editing.toyworld.evaluate import evaluate_world
from editing.toyworld.world import world_names
from editing.workspace import toyworld_model_dir
from store.private_files import make_private_dir

EOS = "<|endoftext|>"
MIN_SINGLE_HOP = 0.99
MIN_MULTI_HOP = 0.90


@dataclass
class ToyWorldConfig:
    """How the toy model is built. The defaults meet the bar in about 90 s on 2 cores."""

    vocab_size: int = 1024  # byte-level BPE merges learnt: 256 bytes + merges, before name pieces are dropped
    # no token holds more than this many letters of a name (a country, capital, language or currency):
    # names are spelled over several tokens, as a real tokenizer splits rare names, so a new name an edit
    # teaches is written with pieces the model already spells names with
    name_piece_letters: int = 3
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 64  # the longest corpus sentence is under 30 tokens
    epochs: int = 24
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 0.0  # memorising facts: nothing to regularise towards
    seed: int = 0
    threads: int = 2  # the CPU budget this is tuned for; fixed so builds are repeatable


class ToyWorldBuildError(RunFailed):
    """The trained model did not learn the world well enough to be saved."""


def train_tokenizer(
    sentences: list[str], vocab_size: int, names: Iterable[str] = (), name_piece_letters: int | None = None
) -> PreTrainedTokenizerFast:
    """A byte-level BPE over the corpus: any text at all encodes, with no unknown token.

    With `name_piece_letters`, no token holds more of any of `names` than that many letters: the merges
    that would make a longer piece of a name are dropped, with the tokens only they made."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(sentences, trainer)
    if name_piece_letters is not None:
        tokenizer = _without_long_name_pieces(tokenizer, names, name_piece_letters)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=EOS, eos_token=EOS, model_max_length=1024)


def _without_long_name_pieces(tokenizer: Tokenizer, names: Iterable[str], letters: int) -> Tokenizer:
    """`tokenizer` less every merge that makes a token holding more than `letters` letters of a name.

    A BPE vocabulary lists the special tokens and the byte alphabet first, then one token per merge in
    merge order; the kept tokens keep that order and are numbered again from 0."""
    data = json.loads(tokenizer.to_str())
    lowered = [name.lower() for name in names]
    byte_level = pre_tokenizers.ByteLevel.alphabet()

    def too_long(token: str) -> bool:
        letters_of = "".join(ch for ch in token if ch not in "Ġ").lower()  # Ġ: the byte-level space
        return len(letters_of) > letters and any(letters_of in name for name in lowered)

    available = {EOS, *byte_level}
    kept = []
    for pair in (m.split(" ") if isinstance(m, str) else m for m in data["model"]["merges"]):
        # in merge order, so a merge whose part was dropped goes too
        if all(part in available for part in pair) and not too_long("".join(pair)):
            kept.append(pair)
            available.add("".join(pair))
    order = sorted(data["model"]["vocab"].items(), key=lambda item: item[1])
    tokens = [token for token, _ in order if token in available]
    data["model"]["vocab"] = {token: i for i, token in enumerate(tokens)}
    data["model"]["merges"] = kept
    data["added_tokens"] = [{**added, "id": tokens.index(added["content"])} for added in data["added_tokens"]]
    return Tokenizer.from_str(json.dumps(data))


def _batches(token_ids: list[list[int]], batch_size: int, pad_id: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Right-padded (input_ids, labels) batches; padding is masked out of the loss with -100."""
    batches = []
    for start in range(0, len(token_ids), batch_size):
        chunk = token_ids[start : start + batch_size]
        width = max(len(ids) for ids in chunk)
        input_ids = torch.full((len(chunk), width), pad_id)
        labels = torch.full((len(chunk), width), -100)
        for row, ids in enumerate(chunk):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(ids)] = torch.tensor(ids)
        batches.append((input_ids, labels))
    return batches


def train_model(
    tokenizer: PreTrainedTokenizerFast,
    sentences: list[str],
    config: ToyWorldConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> GPT2LMHeadModel:
    """Train a tiny GPT-2 on the sentences, each one a sequence ending in EOS."""
    torch.manual_seed(config.seed)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=config.n_positions,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            activation_function="gelu",  # torch's fused GELU: GPT-2's tanh form costs a quarter of a forward on CPU
            # named, so transformers does not warn that it guessed; configs take extra keys at run time,
            # but their dataclass signature does not say so
            loss_type="ForCausalLM",  # type: ignore[call-arg]
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(sentences) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch

    def lr_at(step: int) -> float:  # linear warmup, then cosine to zero
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    model.train()
    step = 0
    for epoch in range(config.epochs):
        order = shuffled(sentences, seed=config.seed + epoch)
        token_ids = [tokenizer(s)["input_ids"] + [tokenizer.eos_token_id] for s in order]
        for input_ids, labels in _batches(token_ids, config.batch_size, tokenizer.eos_token_id):
            loss = model(input_ids=input_ids, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if on_step is not None:
                on_step(step, total_steps, loss.item())
    model.eval()
    return model


def build_toyworld(
    out_dir: Path | None = None,
    force: bool = False,
    config: ToyWorldConfig | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Build the toy model into `out_dir` (default: the workspace's models/toyworld-v2).

    Returns the folder. Does nothing when it already holds a built model, unless
    `force`. The folder only appears once the model is trained, evaluated and
    above the bar; a failed build leaves whatever was there before.
    """
    out_dir = Path(out_dir) if out_dir is not None else toyworld_model_dir()
    if (out_dir / "world_eval.json").exists() and not force:
        return out_dir
    config = config or ToyWorldConfig()
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        sentences = corpus_sentences()
        tokenizer = train_tokenizer(sentences, config.vocab_size, world_names(), config.name_piece_letters)
        model = train_model(tokenizer, sentences, config, on_step)
        report = evaluate_world(model, tokenizer)
    finally:
        torch.set_num_threads(previous_threads)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["config"] = asdict(config)
    if report["single_hop_accuracy"] < MIN_SINGLE_HOP or report["multi_hop_accuracy"] < MIN_MULTI_HOP:
        raise ToyWorldBuildError(
            f"the toy model missed the bar (single-hop {report['single_hop_accuracy']:.3f}, "
            f"needs {MIN_SINGLE_HOP}; multi-hop {report['multi_hop_accuracy']:.3f}, needs "
            f"{MIN_MULTI_HOP}); nothing was saved. Train longer (ToyWorldConfig.epochs)."
        )
    make_private_dir(out_dir.parent)  # the workspace, when the build is the first to make it
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "world_eval.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir
