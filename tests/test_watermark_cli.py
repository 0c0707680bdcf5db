"""``distillwatch watermark``: keys, detect (file and stdin), radioactive (file and endpoint).

Marked *text* is made with the packaged tokenizer and a toy model restricted to whole-word
tokens, so decoding and re-tokenising gives back (nearly) the generated ids. The endpoint
test runs a real HTTP server on 127.0.0.1 speaking the OpenAI chat completions protocol.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.watermark.keys import Keyring, load_keyring, save_keyring
from distillwatch.watermark.reference import bigram_model, generate
from distillwatch.watermark.tokens import load_tokenizer

runner = CliRunner()


def wm(command: str, stdin: str | None = None) -> Result:
    """Run ``distillwatch watermark <command>`` (arguments split on spaces)."""
    return runner.invoke(app, ["watermark", *command.split()], input=stdin)


def word_tokens() -> list[int]:
    vocab = load_tokenizer().get_vocab()
    return sorted(i for t, i in vocab.items() if t.startswith("Ġ") and t[1:].isalpha())


def make_ring(path: Path, extra: str = "") -> None:
    result = wm(f"keys new {path} {extra}")
    assert result.exit_code == 0, result.output


def texts(
    ring: Path, n: int, seed: int, account: str | None = None, marked: bool = True
) -> list[str]:
    """Documents of ~250 tokens from a word-level toy model, marked with the ring's key."""
    words = word_tokens()
    model = bigram_model(2048, seed=seed, sharpness=1.0, allowed=words)
    key = load_keyring(ring).active.derive(account) if marked else None
    rng = np.random.default_rng(seed)
    starts = [[int(w)] for w in rng.choice(words, size=n)]
    seqs = generate(model, starts, 250, key, rng)
    tok = load_tokenizer()
    return [tok.decode(s.tolist()) for s in seqs]


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wm") / "ring.json"
    make_ring(path, "--window 1")
    return path


def test_keys_new_list_rotate(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    make_ring(path, "--scheme gumbel --window 3")
    again = wm(f"keys new {path}")
    assert again.exit_code != 0 and "--force" in again.output
    first = load_keyring(path).active.key_id
    rotated = wm(f"keys rotate {path} --scheme kgw")
    assert rotated.exit_code == 0, rotated.output
    listed = wm(f"keys list {path}")
    assert first in listed.output and "gumbel(window=3)" in listed.output
    assert "kgw(window=3" in listed.output
    assert load_keyring(path).get(first).secret.hex() not in listed.output
    bad = wm(f"keys new {tmp_path / 'x.json'} --gamma 2")
    assert bad.exit_code != 0 and "gamma" in bad.output


def test_detect_names_the_account_from_a_file(ring: Path, tmp_path: Path) -> None:
    doc = tmp_path / "answers.jsonl"
    marked = texts(ring, 2, seed=1, account="acct-17")
    doc.write_text("\n".join(json.dumps({"response": {"text": t}}) for t in marked) + "\n")
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(f"acct-{i}" for i in range(40)) + "\n")
    result = wm(f"detect {doc} --key {ring} --accounts-file {accounts} --json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["keys_tried"] == 40 and data["documents"] == 2
    best = data["scores"][0]
    assert best["account"] == "acct-17" and best["p_adjusted"] < 1e-6
    assert data["scores"][1]["p_adjusted"] > 1e-4


def test_detect_reads_stdin_and_reports_no_match_on_clean_text(ring: Path) -> None:
    clean = texts(ring, 1, seed=2, marked=False)[0]
    result = wm(f"detect - --key {ring}", stdin=clean)
    assert result.exit_code == 0, result.output
    assert "no key matches" in result.output
    hit = wm(f"detect - --key {ring}", stdin=texts(ring, 1, seed=3)[0])
    assert "match" in hit.output and "no key matches" not in hit.output


def test_detect_errors_are_clear(ring: Path, tmp_path: Path) -> None:
    missing = wm(f"detect {tmp_path / 'none.txt'} --key {ring}")
    assert missing.exit_code == 2 and "input not found" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"nope": 1}\n')
    result = wm(f"detect {bad} --key {ring}")
    assert result.exit_code == 2 and f"{bad}:2" in result.output
    noring = wm(f"detect {bad} --key {tmp_path / 'r.json'}")
    assert noring.exit_code == 2 and "keyring not found" in noring.output
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"text": "  "}\n')
    empty = wm(f"detect {blank} --key {ring}")
    assert empty.exit_code == 2 and "no text to test" in empty.output


def test_detect_on_logged_token_ids(ring: Path, tmp_path: Path) -> None:
    key = load_keyring(ring).active.derive("acct-3")
    model = bigram_model(2048, seed=8, sharpness=1.5)
    seqs = generate(model, [[5], [9]], 200, key, np.random.default_rng(9))
    ids = tmp_path / "ids.jsonl"
    ids.write_text(json.dumps({"ids": seqs[0].tolist()}) + "\n" + json.dumps(seqs[1].tolist()))
    result = wm(f"detect {ids} --token-ids --key {ring} --account acct-3 --account acct-4 --json")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["scores"][0]
    assert best["account"] == "acct-3" and best["p_adjusted"] < 1e-6
    ids.write_text('{"ids": [1, -2]}\n')
    bad = wm(f"detect {ids} --token-ids --key {ring}")
    assert bad.exit_code == 2 and f"{ids}:1" in bad.output


class _Suspect(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose model answers with pre-made text."""

    answers: ClassVar[list[str]] = []
    seen: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        n = int(body.get("n", 1))
        start = (len(type(self).seen) - 1) * n
        choices = [
            {
                "index": i,
                "message": {
                    "role": "assistant",
                    "content": self.answers[(start + i) % len(self.answers)],
                },
            }
            for i in range(n)
        ]
        payload = json.dumps({"object": "chat.completion", "choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def suspect_server() -> Iterator[tuple[str, type[_Suspect]]]:
    handler = type("Handler", (_Suspect,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_radioactive_samples_an_endpoint(
    ring: Path, tmp_path: Path, suspect_server: tuple[str, type[_Suspect]]
) -> None:
    url, handler = suspect_server
    handler.answers = texts(ring, 6, seed=4)  # a suspect that reproduces our marked style
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Write about the sea.\nExplain tides.\nDescribe a harbour.\n")
    saved = tmp_path / "samples.jsonl"
    result = wm(
        f"radioactive --key {ring} --endpoint {url} --model s --prompts {prompts} "
        f"--samples-per-prompt 2 --max-tokens 64 --save-samples {saved}"
    )
    assert result.exit_code == 0, result.output
    assert "trained on our watermarked answers" in result.output
    assert len(handler.seen) == 3 and handler.seen[0]["max_tokens"] == 64
    assert len(saved.read_text().splitlines()) == 6


@pytest.fixture()
def fixed_ring(ring: Path, tmp_path: Path) -> Path:
    """The module's ring with a fixed secret: an unmarked text's p-value is uniform over keys,
    so with a fresh random key "not detected at 1e-3" fails one run in a thousand."""
    path = tmp_path / "fixed.json"
    master = replace(load_keyring(ring).active, secret=bytes(range(32)))
    save_keyring(Keyring((master,)), path)
    return path


def test_radioactive_on_a_file_with_filter(fixed_ring: Path, tmp_path: Path) -> None:
    ring = fixed_ring
    suspect = tmp_path / "suspect.txt"
    suspect.write_text(texts(ring, 1, seed=5, marked=False)[0])
    served = tmp_path / "served.jsonl"
    served.write_text("\n".join(json.dumps({"text": t}) for t in texts(ring, 3, seed=6)) + "\n")
    other = tmp_path / "other.txt"
    other.write_text(texts(ring, 1, seed=15, marked=False)[0])
    result = wm(f"radioactive {suspect} --key {ring} --watermarked {served} --json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["filtered_on_watermarked_contexts"] is True
    assert data["scores"][0]["p_value"] > 1e-3
    apart = wm(
        f"radioactive {suspect} --key {ring} --background {other} --other-suspect {other} --json"
    )
    assert apart.exit_code == 0, apart.output
    kept = json.loads(apart.stdout)
    assert kept["background_tuples_excluded"] is True and kept["other_suspects_excluded"] == 1
    assert 0 < kept["scores"][0]["scored"] < data["tuples"]
    neither = wm(f"radioactive --key {ring}")
    assert neither.exit_code == 2 and "--endpoint" in neither.output


def test_endpoint_unreachable_is_a_clear_error(ring: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    result = wm(f"radioactive --key {ring} --endpoint http://127.0.0.1:9 --prompts {prompts}")
    assert result.exit_code == 2 and "cannot connect" in result.output


def test_detection_runs_without_torch(ring: Path, tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(texts(ring, 1, seed=7)[0])
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from distillwatch.watermark import detect, encode, load_keyring\n"
        f"ring = load_keyring(Path({str(ring)!r}))\n"
        f"corpus = encode([Path({str(doc)!r}).read_text()])\n"
        "p = detect(corpus, ring.candidates()).scores[0].p_value\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')]\n"
        "assert not heavy, heavy\n"
        "print(p)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 1e-6


def test_own_samples_and_prompts_with_unicode_separators_read_back(
    ring: Path, tmp_path: Path, suspect_server: tuple[str, type[_Suspect]]
) -> None:
    """``--save-samples`` writes raw U+2028/U+0085 (ensure_ascii=False); reading that file
    (and JSON Lines prompts holding them) must not split lines there."""
    url, handler = suspect_server
    handler.answers = [
        t.replace(" ", "\u2028", 1).replace(" ", "\x85", 1) for t in texts(ring, 4, 11)
    ]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "\n".join(
            json.dumps({"text": f"ask\u2028{i}\x85now"}, ensure_ascii=False) for i in range(2)
        )
        + "\n",
        encoding="utf-8",
    )
    saved = tmp_path / "samples.jsonl"
    result = wm(
        f"radioactive --key {ring} --endpoint {url} --prompts {prompts} "
        f"--samples-per-prompt 2 --save-samples {saved}"
    )
    assert result.exit_code == 0, result.output
    assert [m["messages"][0]["content"] for m in handler.seen] == [
        "ask\u20280\x85now",
        "ask\u20281\x85now",
    ]
    assert "\u2028" in saved.read_text(encoding="utf-8")
    again = wm(f"detect {saved} --key {ring} --json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["documents"] == 4


def test_detect_names_the_marked_line_of_a_dataset(ring: Path, tmp_path: Path) -> None:
    """One marked answer among human ones: the pooled p-value is not enough, the
    per-document one names its line; --spans finds a marked stretch inside a long text."""
    human = texts(ring, 60, seed=12, marked=False)
    hit = texts(ring, 1, seed=13, account="acct-5")[0]
    quote = human[0] + " " + texts(ring, 1, seed=14, account="acct-5")[0][:400] + " " + human[1]
    docs = [*human[:30], hit, *human[30:], quote]
    data = tmp_path / "leak.jsonl"
    data.write_text("\n".join(json.dumps({"text": t}) for t in docs) + "\n")
    args = f"detect {data} --key {ring} --account acct-4 --account acct-5 --spans --json"
    result = wm(args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    flagged = out["per_document"]["flagged"]
    assert [(d["line"], d["account"]) for d in flagged[:1]] == [(31, "acct-5")]
    assert flagged[0]["p_adjusted"] < 1e-6
    spans = out["spans"]["spans"]
    assert {s["line"] for s in spans} >= {62} and all(s["account"] == "acct-5" for s in spans)
    table = wm(args.replace(" --json", ""))
    assert "line 31" in table.output and "marked span" in table.output
    bad = wm(f"detect {data} --key {ring} --shared maybe")
    assert bad.exit_code == 2 and "--shared" in bad.output
