"""LLM-written item profiles and user preference summaries, through any OpenAI-compatible server.

The language model as a writer (in the spirit of LLMRec, Wei et al. WSDM 2024, and
KAR, Xi et al. RecSys 2024): a chat model reads an item's raw text and attributes
and writes a short profile (genres, audience, themes), or reads a user's recent
items and writes a preference summary. Profiles become item-table text
(``with_profiles``), so the text encoder reads them like any other field, e.g. with
the template ``("{title}", ". {profile}")``.

Any server speaking the chat-completions API works (vLLM, Ollama, llama.cpp server,
OpenAI) through the ``openai`` client with a configurable ``base_url`` and ``model``.
Nothing is sent unless asked: ``ssl4rec text enrich`` needs ``--base-url`` and
``--model``, and ``--dry-run`` prints the prompts without sending them.

- **cache**: every answer is stored on disk under the sha256 of (model, prompt), so a
  rerun sends only new prompts;
- **batching**: ``concurrency`` requests in flight at once;
- **retries**: a timeout, a server error or an answer that is not the expected JSON
  is retried ``max_retries`` times with exponential backoff; after that the item
  keeps its raw text (``profile = None``) and is counted in ``failed``; nothing raises;
- **report**: requests, cache hits, failures, prompt and completion tokens (from the
  server's ``usage``) and, with prices per million tokens, the cost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ssl4rec.config.base import Checks
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.text.templates import item_texts

__all__ = [
    "EnrichConfig",
    "EnrichReport",
    "enrich",
    "item_prompts",
    "user_prompts",
    "with_profiles",
]

logger = logging.getLogger(__name__)

ITEM_SYSTEM = (
    "You describe catalog items for a recommender system. Reply with one JSON object "
    'only: {"profile": "<two or three sentences: what it is, who it suits, its themes>", '
    '"genres": ["..."], "audience": "...", "themes": ["..."]}. Use only what the item '
    "text says or what is common knowledge about it; never invent facts."
)
USER_SYSTEM = (
    "You summarize a user's tastes for a recommender system from the items they "
    'consumed, oldest first. Reply with one JSON object only: {"profile": "<two or '
    'three sentences on what they like>", "genres": ["..."], "themes": ["..."]}.'
)


@dataclass(frozen=True, kw_only=True)
class EnrichConfig:
    """Where the chat model is and how it is called."""

    base_url: str
    """The server's OpenAI-compatible API root, e.g. ``http://127.0.0.1:8000/v1`` (vLLM)."""
    model: str
    """Model name as the server knows it."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the key (local servers accept any: ``"local"`` is sent)."""
    cache_dir: str | None = None
    """Answer cache; ``None``: ``<text cache>/llm``."""
    concurrency: int = 4
    """Requests in flight at once."""
    max_retries: int = 3
    """Retries per prompt after a failed or malformed answer."""
    backoff_s: float = 1.0
    """First retry waits this long; each next one twice as long."""
    timeout_s: float = 60.0
    """Seconds per request."""
    max_tokens: int = 200
    """Most tokens per answer."""
    temperature: float = 0.0
    """Sampling temperature (0: the most likely answer, reproducible with a cache)."""
    price_prompt: float = 0.0
    """Price per million prompt tokens (for the cost report; 0 for a local server)."""
    price_completion: float = 0.0
    """Price per million completion tokens."""

    def __post_init__(self) -> None:
        checks = Checks("EnrichConfig")
        if not self.base_url.startswith(("http://", "https://")):
            checks.fail("base_url", "an http(s) URL", self.base_url)
        if not self.model.strip():
            checks.fail("model", "a model name", self.model)
        checks.positive("concurrency", self.concurrency)
        checks.non_negative("max_retries", self.max_retries)
        checks.non_negative("backoff_s", self.backoff_s)
        checks.positive("timeout_s", self.timeout_s)
        checks.positive("max_tokens", self.max_tokens)
        checks.in_range("temperature", self.temperature, 0.0, 2.0)
        checks.non_negative("price_prompt", self.price_prompt)
        checks.non_negative("price_completion", self.price_completion)
        checks.raise_if_any()


@dataclass
class EnrichReport:
    """What one ``enrich`` call did."""

    profiles: list[str | None]
    """One per prompt; ``None`` where every try failed (the item keeps its raw text)."""
    requests: int = 0
    """Chat requests sent (retries included)."""
    cached: int = 0
    """Prompts answered from the cache."""
    failed: int = 0
    """Prompts without a usable answer after all retries."""
    retried: int = 0
    """Retries after a timeout, an error or a malformed answer."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    """From the configured prices (0 when none are set)."""
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    """Failure kinds and how often they occurred (``timeout``, ``malformed`` ...)."""

    def summary(self) -> dict[str, Any]:
        """Everything but the profiles."""
        return {k: v for k, v in self.__dict__.items() if k != "profiles"}


def item_prompts(data: Interactions, template: str | Sequence[str] | None = None) -> list[str]:
    """One prompt per item: its text as the template renders it (default: every text field).

    An item without text is named by its id.
    """
    if data.item_table is None:
        texts = [""] * data.num_items
    else:
        texts = item_texts(data, template)
    ids = data.item_vocab.to_list()
    return [f"Item: {text or raw}" for text, raw in zip(texts, ids, strict=True)]


def user_prompts(data: Interactions, *, last: int = 20) -> list[str]:
    """One prompt per user: the titles (or ids) of their ``last`` items, oldest first."""
    titles = data.item_titles()
    out = []
    for seq in data.sequences():
        names = [titles[i] for i in seq[-last:]]
        out.append("Items, oldest first:\n" + "\n".join(f"- {n}" for n in names))
    return out


def enrich(
    prompts: Sequence[str],
    config: EnrichConfig,
    *,
    system: str = ITEM_SYSTEM,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> EnrichReport:
    """Ask the chat model for a profile per prompt (cached, batched, retried).

    Args:
        prompts: user messages (``item_prompts`` or ``user_prompts``).
        config: the server, model and call settings.
        system: the system message (``ITEM_SYSTEM`` or ``USER_SYSTEM``).
        client: an ``openai.OpenAI`` client (default: one for ``config.base_url``).
        sleep: how backoff waits (tests pass a no-op).

    Returns:
        The profiles (``None`` for failures) and the report; never raises for a bad
        answer or an unreachable server.
    """
    start = time.perf_counter()
    if client is None:
        client = _client(config)
    cache = _cache_dir(config)
    report = EnrichReport(profiles=[None] * len(prompts))
    lock = threading.Lock()

    def count(name: str, value: int = 1) -> None:
        with lock:
            setattr(report, name, getattr(report, name) + value)

    def error(kind: str) -> None:
        with lock:
            report.errors[kind] = report.errors.get(kind, 0) + 1

    def one(pos: int) -> None:
        prompt = prompts[pos]
        key = hashlib.sha256(
            json.dumps([config.model, system, prompt, config.max_tokens]).encode()
        ).hexdigest()
        path = cache / f"{key}.json"
        if path.is_file():
            try:
                report.profiles[pos] = _profile(
                    json.loads(path.read_text(encoding="utf-8"))["content"]
                )
                count("cached")
                return
            except (OSError, ValueError, KeyError, TypeError):
                logger.warning("enrich: unreadable cache entry %s; asking again", path)
        for attempt in range(config.max_retries + 1):
            if attempt:
                count("retried")
                sleep(config.backoff_s * 2 ** (attempt - 1))
            count("requests")
            try:
                answer = client.chat.completions.create(
                    model=config.model,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": prompt},
                    ],
                    max_tokens=config.max_tokens,
                    temperature=config.temperature,
                    timeout=config.timeout_s,
                )
            except Exception as err:  # noqa: BLE001 - any client error is retried, then counted
                error("timeout" if "timeout" in type(err).__name__.lower() else type(err).__name__)
                continue
            usage = getattr(answer, "usage", None)
            if usage is not None:
                count("prompt_tokens", int(getattr(usage, "prompt_tokens", 0) or 0))
                count("completion_tokens", int(getattr(usage, "completion_tokens", 0) or 0))
            try:
                content = answer.choices[0].message.content or ""
                profile = _profile(content)
            except (AttributeError, IndexError, ValueError, TypeError):
                error("malformed")
                continue
            report.profiles[pos] = profile
            _write(path, {"model": config.model, "prompt": prompt, "content": content})
            return
        count("failed")

    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        list(pool.map(one, range(len(prompts))))
    report.cost = (
        report.prompt_tokens * config.price_prompt
        + report.completion_tokens * config.price_completion
    ) / 1e6
    report.seconds = round(time.perf_counter() - start, 3)
    logger.info("enrich: %s", report.summary())
    return report


def with_profiles(data: Interactions, profiles: Sequence[str | None]) -> Interactions:
    """``data`` with a ``profile`` column in its item table (``None`` where none was written)."""
    if len(profiles) != data.num_items:
        raise ConfigError(
            f"with_profiles: profiles must have one entry per item ({data.num_items}); "
            f"got {len(profiles)}"
        )
    table = data.item_table
    if table is None:
        table = pl.DataFrame({"item_id": data.item_vocab.to_list()})
    table = table.with_columns(pl.Series("profile", list(profiles), dtype=pl.Utf8))
    return Interactions(
        users=data.users,
        items=data.items,
        weights=data.weights,
        timestamps=data.timestamps,
        user_vocab=data.user_vocab,
        item_vocab=data.item_vocab,
        item_table=table,
        user_table=data.user_table,
        name=data.name,
    )


def _profile(content: str) -> str:
    """The profile text of an answer: a JSON object (possibly in a code fence) with ``profile``.

    Raises:
        ValueError: no JSON object, or no non-empty ``profile`` string in it.
    """
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    begin, end = text.find("{"), text.rfind("}")
    if begin < 0 or end <= begin:
        raise ValueError("no JSON object in the answer")
    data = json.loads(text[begin : end + 1])
    profile = data.get("profile") if isinstance(data, dict) else None
    if not isinstance(profile, str) or not profile.strip():
        raise ValueError("the answer has no 'profile' text")
    extras = []
    for key in ("genres", "audience", "themes"):
        value = data.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if str(v).strip())
        if isinstance(value, str) and value.strip():
            extras.append(f"{key.capitalize()}: {value.strip()}.")
    return " ".join([profile.strip(), *extras])


def _client(config: EnrichConfig) -> Any:
    try:
        from openai import OpenAI
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "text enrich needs the openai client; pip install 'ssl4rec[text]'"
        ) from err
    key = os.environ.get(config.api_key_env) or "local"
    return OpenAI(base_url=config.base_url, api_key=key, max_retries=0, timeout=config.timeout_s)


def _cache_dir(config: EnrichConfig) -> Path:
    if config.cache_dir is not None:
        path = Path(config.cache_dir)
    else:
        from ssl4rec.text.cache import default_cache_dir

        path = default_cache_dir() / "llm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
