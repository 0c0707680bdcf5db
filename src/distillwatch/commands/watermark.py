"""``distillwatch watermark`` — keys, detection and the radioactivity test.

    distillwatch watermark keys new ring.json --scheme kgw --window 2
    distillwatch watermark keys rotate ring.json
    distillwatch watermark detect answers.jsonl --key ring.json --accounts-file accounts.txt
    distillwatch watermark radioactive --key ring.json --endpoint http://host:8000 \
        --model suspect --prompts prompts.txt --watermarked served.jsonl
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from distillwatch.commands.watermark_output import (
    RULES,
    document_report,
    key_report,
    span_report,
)
from distillwatch.console import console, fail, out, progress_bar
from distillwatch.watermark.detect import distinct, tuple_stream
from distillwatch.watermark.endpoint import EndpointConfig, EndpointError, sample_endpoint
from distillwatch.watermark.keys import (
    Keyring,
    KeyringError,
    WatermarkKey,
    load_keyring,
    new_keyring,
    rotate,
    save_keyring,
)
from distillwatch.watermark.scheme import Scheme, SchemeError
from distillwatch.watermark.textio import (
    TextInputError,
    is_jsonl,
    iter_pieces,
    iter_token_ids,
    read_lines,
    read_texts,
)
from distillwatch.watermark.tokens import TokenCorpus, TokenizerError, encode, load_tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from distillwatch.watermark.prf import U64
    from distillwatch.watermark.stream import TokenPiece

app = typer.Typer(
    name="watermark",
    help="Mark answers, detect the mark, and test suspect models for it.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create, rotate and list watermark keyrings.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_RING = typer.Option(..., "--key", help="Keyring file (repeatable); every key in it is tried.")
_ACCOUNTS = typer.Option(None, "--account", help="Derive and try this account's key (repeat).")
_ACCOUNTS_FILE = typer.Option(
    None, "--accounts-file", help="File with one account id per line; try each account's key."
)
_TOKENIZER = typer.Option(
    None, "--tokenizer", help="tokenizer.json of the marking model (default: the packaged one)."
)
_BACKGROUND = typer.Option(
    None,
    "--background",
    help="Public text (file or .jsonl, repeatable) whose n-grams are never scored.",
)
_JSON = typer.Option(False, "--json", help="Print the full result as JSON instead of a table.")
_TOP = typer.Option(10, "--top", min=1, help="Rows of the key table to show.")


def _scheme(name: str, window: int, gamma: float, delta: float) -> Scheme:
    try:
        return Scheme(name, window, gamma, delta)
    except SchemeError as exc:
        fail(str(exc))
        raise


def _load(path: Path) -> Keyring:
    try:
        return load_keyring(path)
    except KeyringError as exc:
        fail(str(exc))
        raise


def _candidate_keys(
    rings: list[Path], accounts: list[str] | None, accounts_file: Path | None
) -> list[WatermarkKey]:
    names = list(accounts or [])
    if accounts_file is not None:
        if not accounts_file.is_file():
            fail(f"accounts file not found: {accounts_file}")
        names += [line.strip() for line in _text_lines(str(accounts_file))]
    found: list[WatermarkKey] = []
    for ring in rings:
        found += _load(ring).candidates(list(dict.fromkeys(names)) or None)
    return found


def _tokenize(texts: list[str], tokenizer: Path | None) -> TokenCorpus:
    try:
        return encode(texts, load_tokenizer(tokenizer))
    except TokenizerError as exc:
        fail(str(exc))
        raise


def _read(source: str, jsonl: bool) -> list[str]:
    try:
        return read_texts(source, jsonl)
    except TextInputError as exc:
        fail(str(exc))
        raise


@keys_app.command("new")
def keys_new(
    ring: Path = typer.Argument(..., help="Keyring file to create (holds secrets; mode 600)."),
    scheme: str = typer.Option("kgw", "--scheme", help="kgw (green list) or gumbel."),
    window: int = typer.Option(2, "--window", help="Context tokens hashed per step."),
    gamma: float = typer.Option(0.25, "--gamma", help="KGW green fraction."),
    delta: float = typer.Option(2.0, "--delta", help="KGW logit bias."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing keyring."),
) -> None:
    """Create a keyring with one fresh master key."""
    if ring.exists() and not force:
        fail(f"{ring} exists; use --force to overwrite it (old marks become undetectable)")
    new = new_keyring(_scheme(scheme, window, gamma, delta))
    save_keyring(new, ring)
    out.print(f"created {ring}: key {new.active.key_id}, {new.active.scheme.describe()}")


@keys_app.command("rotate")
def keys_rotate(
    ring: Path = typer.Argument(..., help="Keyring file to rotate in place."),
    scheme: str | None = typer.Option(None, "--scheme", help="Scheme of the new key."),
    window: int | None = typer.Option(None, "--window"),
    gamma: float | None = typer.Option(None, "--gamma"),
    delta: float | None = typer.Option(None, "--delta"),
) -> None:
    """Retire the active key (kept for detection) and add a new one."""
    current = _load(ring)
    old = current.active.scheme
    new_scheme = _scheme(
        scheme or old.name,
        window if window is not None else old.window,
        gamma if gamma is not None else old.gamma,
        delta if delta is not None else old.delta,
    )
    rotated = rotate(current, new_scheme)
    save_keyring(rotated, ring)
    out.print(f"retired {current.active.key_id}; active key is now {rotated.active.key_id}")


@keys_app.command("list")
def keys_list(ring: Path = typer.Argument(..., help="Keyring file.")) -> None:
    """List the keys of a keyring (never the secrets)."""
    current = _load(ring)
    for k in current.keys:
        state = "active" if k is current.active else f"retired {k.retired}" if k.retired else ""
        out.print(
            f"{k.key_id}  {k.scheme.describe()}  created {k.created}  {state}", soft_wrap=True
        )


@app.command("detect")
def detect_cmd(
    source: str = typer.Argument(..., help="Text file, .jsonl (one document a line), or -."),
    rings: list[Path] = _RING,
    accounts: list[str] | None = _ACCOUNTS,
    accounts_file: Path | None = _ACCOUNTS_FILE,
    tokenizer: Path | None = _TOKENIZER,
    jsonl: bool = typer.Option(False, "--jsonl", help="Read stdin as JSON Lines."),
    token_ids: bool = typer.Option(
        False,
        "--token-ids",
        help="Input is JSON Lines of token ids ({'ids': [...]}), as "
        "logged by the serving stack: no tokenizer needed.",
    ),
    spans: bool = typer.Option(
        False, "--spans", help="Also find marked stretches inside documents (32-256 tokens)."
    ),
    background: list[Path] | None = _BACKGROUND,
    shared: str = typer.Option(
        "first",
        "--shared",
        help="Per document, a tuple several documents hold is scored in the first "
        "(first), in none (drop), or in each (keep: the old, dependent scoring).",
    ),
    alpha: float = typer.Option(1e-4, "--alpha", help="Corrected p-value that counts as a match."),
    as_json: bool = _JSON,
    top: int = _TOP,
) -> None:
    """Score text for every key's mark: pooled, per document and (--spans) per stretch.

    Input is streamed: memory stays bounded whatever the size of the file.
    """
    from distillwatch.watermark.stream import default_workdir, detect_stream

    if shared not in RULES:
        fail(f"--shared must be one of {', '.join(RULES)}, got {shared!r}")
    keys = _candidate_keys(rings, accounts, accounts_file)
    tok = None if token_ids else _tokenizer(tokenizer)
    exclude = _background(background, tokenizer, keys) if background else None
    try:
        result = detect_stream(
            _batches(source, jsonl, tok),
            keys,
            exclude=exclude,
            shared=shared,  # type: ignore[arg-type]
            spans_alpha=alpha if spans else None,
            workdir=default_workdir(),
        )
    except (TextInputError, TokenizerError) as exc:
        fail(str(exc))
        raise
    docs = result.documents if result.detection.documents > 1 else None
    if as_json:
        data = result.detection.to_dict()
        if docs is not None:
            data["per_document"] = docs.to_dict(alpha, top)
        if result.documents_skipped:
            data["per_document_skipped"] = result.documents_skipped
        if spans:
            data["spans"] = {
                "windows_tried": result.windows_tried,
                "spans": [s.to_dict() for s in result.spans],
            }
        out.print_json(json.dumps(data))
        return
    key_report(result.detection, alpha, top, radioactive=False)
    if docs is not None:
        document_report(docs, alpha, top, shared)
    if result.documents_skipped:
        console.print(f"[yellow]no per-document scores:[/] {result.documents_skipped}")
    if spans:
        span_report(result.spans, result.windows_tried, alpha, top)


def _tokenizer(path: Path | None) -> Tokenizer:
    try:
        return load_tokenizer(path)
    except TokenizerError as exc:
        fail(str(exc))
        raise


def _batches(source: str, jsonl: bool, tok: Tokenizer | None) -> Iterator[list[TokenPiece]]:
    from distillwatch.watermark.stream import id_batches, tokenised

    if tok is None:
        return id_batches(iter_token_ids(source))
    return tokenised(iter_pieces(source, jsonl), tok)


def _background(
    paths: list[Path], tokenizer: Path | None, keys: list[WatermarkKey]
) -> dict[int, U64]:
    """Distinct tuples of the background text, per context window of the keys."""
    corpus = _tokenize(_read_all(paths), tokenizer)
    windows = dict.fromkeys(k.scheme.window for k in keys)
    return {w: distinct(tuple_stream(corpus, w)[1]) for w in windows}


def _read_all(paths: list[Path]) -> list[str]:
    texts: list[str] = []
    for path in paths:
        texts += _read(str(path), False)
    return texts


@app.command("radioactive")
def radioactive_cmd(
    source: str | None = typer.Argument(
        None, help="Text sampled from the suspect model (file, .jsonl or -); or use --endpoint."
    ),
    rings: list[Path] = _RING,
    accounts: list[str] | None = _ACCOUNTS,
    accounts_file: Path | None = _ACCOUNTS_FILE,
    watermarked: Path | None = typer.Option(
        None,
        "--watermarked",
        help="Marked text we served to the suspects: score only contexts "
        "that occur in it (stronger test, still valid).",
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="OpenAI-compatible base URL of the suspect model to sample."
    ),
    model: str = typer.Option("default", "--model", help="Model name sent to the endpoint."),
    prompts: Path | None = typer.Option(
        None, "--prompts", help="Prompts (text lines or .jsonl); their n-grams are never scored."
    ),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1),
    samples: int = typer.Option(1, "--samples-per-prompt", min=1),
    temperature: float = typer.Option(1.0, "--temperature", min=0.0),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env"),
    save_samples: Path | None = typer.Option(None, "--save-samples", help="Keep sampled text."),
    background: list[Path] | None = _BACKGROUND,
    other_suspects: list[Path] | None = typer.Option(
        None,
        "--other-suspect",
        help="Text of another model tested under the same keys (repeatable): n-grams it "
        "shares with this suspect are not scored, so their results are independent.",
    ),
    tokenizer: Path | None = _TOKENIZER,
    alpha: float = typer.Option(1e-3, "--alpha", help="Corrected p-value that counts."),
    as_json: bool = _JSON,
    top: int = _TOP,
) -> None:
    """Was a suspect model trained on our marked answers? (Sander et al., 2024)"""
    from distillwatch.watermark.radioactive import radioactivity

    if (source is None) == (endpoint is None):
        fail("give either suspect text (FILE or -) or --endpoint to sample the suspect")
    keys = _candidate_keys(rings, accounts, accounts_file)
    prompt_texts = _prompt_lines(prompts) if prompts is not None else []
    if endpoint is not None:
        if not prompt_texts:
            fail("--endpoint needs --prompts (the prompts to send the suspect model)")
        texts = _sample(
            EndpointConfig(endpoint, model, max_tokens, temperature, samples, api_key_env),
            prompt_texts,
        )
        if save_samples is not None:
            lines = (json.dumps({"text": t}, ensure_ascii=False) for t in texts)
            save_samples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        texts = _read(str(source), False)
    tok = None if tokenizer is None else tokenizer
    result = radioactivity(
        _tokenize(texts, tok),
        keys,
        watermarked=_tokenize(_read(str(watermarked), False), tok) if watermarked else None,
        prompts=_tokenize(prompt_texts, tok) if prompt_texts else None,
        background=_tokenize(_read_all(background), tok) if background else None,
        others=[_tokenize(_read(str(o), False), tok) for o in other_suspects or []],
    )
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        key_report(result.detection, alpha, top, radioactive=True)


def _prompt_lines(path: Path) -> list[str]:
    if is_jsonl(str(path)):
        return _read(str(path), True)
    if not path.is_file():
        fail(f"prompts file not found: {path}")
    return _text_lines(str(path))


def _text_lines(source: str) -> list[str]:
    try:
        return read_lines(source)
    except TextInputError as exc:
        fail(str(exc))
        raise


def _sample(cfg: EndpointConfig, prompts: list[str]) -> list[str]:
    try:
        with progress_bar() as bar:
            task = bar.add_task("sampling the suspect", total=len(prompts))
            return sample_endpoint(cfg, prompts, lambda done: bar.update(task, completed=done))
    except EndpointError as exc:
        fail(str(exc))
        raise
    finally:
        console.print(f"sampled {len(prompts):,} prompt(s) from {cfg.chat_url}")
