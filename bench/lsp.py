"""The language server's latency and memory on the benchmark corpus (bench/corpus.py).

Starts the real `preflight server` process over stdio with pygls's LSP client, waits for the diagnostics of
the full workspace load, then makes three edits in turn, each adding or removing findings, and measures from
the didChange notification to the publishDiagnostics of that file (the coalescing delay set to 0, so that
what is measured is the server's work):
- a Python script's W&B run loses its name (WB001 comes and goes): what the rules about runs read;
- the same script's TrainingArguments get a string for a number (`eval_steps="250"`): the rules about the
  runs of TrainingArguments read them again;
- the workflow gets a step that passes the W&B key on a command line (SEC005): every rule about launches.
Memory is the server's resident set (VmRSS) after the load and after the edits.

    python bench/lsp.py [--edits 40] [--work bench/.work]

Targets: a Python file republished in at most 50 ms (median), a workflow in at most 100 ms, at most 150 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus as corpus_module  # noqa: E402

SCRIPT = "finetune/scripts/train_007.py"
WORKFLOW = "finetune/.github/workflows/train.yml"
STEP = '      - run: docker run -e "WANDB_API_KEY=$KEY" trainer\n'  # SEC005 at this step
TARGETS = {"run": 50, "arguments": 50, "workflow": 100}  # ms, median


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(corpus: Path, edits: int) -> dict:
    client = LanguageClient("preflight-bench", "1")
    published: dict[str, asyncio.Event] = {}
    counts: dict[str, int] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: types.PublishDiagnosticsParams) -> None:
        counts[params.uri] = counts.get(params.uri, 0) + 1
        published.setdefault(params.uri, asyncio.Event()).set()

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params) -> None:
        return None

    await client.start_io(sys.executable, "-m", "preflight", "server")
    pid = client._server.pid
    started = time.perf_counter()
    script_uri = (corpus / SCRIPT).as_uri()
    workflow_uri = (corpus / WORKFLOW).as_uri()
    published[script_uri] = asyncio.Event()
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=corpus.as_uri(), initialization_options={"debounce": 0}))
    client.initialized(types.InitializedParams())
    await asyncio.wait_for(published[script_uri].wait(), 300)
    load = time.perf_counter() - started
    loaded_rss = rss_mib(pid)

    script = (corpus / SCRIPT).read_text()
    workflow = (corpus / WORKFLOW).read_text()
    unnamed = script.replace('wandb.init(project="bench", name="run-7")', 'wandb.init(project="bench", config={})')
    stringly = script.replace("eval_steps=250,", 'eval_steps="250",')
    assert unnamed != script and stringly != script, "the corpus script changed: update the edits"
    variants = {  # edit -> (uri, the text before, the text after)
        "run": (script_uri, script, unnamed),
        "arguments": (script_uri, script, stringly),
        "workflow": (workflow_uri, workflow, workflow + STEP),
    }
    for uri, text in ((script_uri, script), (workflow_uri, workflow)):
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "text", 1, text)))
    await asyncio.sleep(1.0)
    times: dict[str, list[float]] = {edit: [] for edit in variants}
    version = 1
    for edit, (uri, before, after) in variants.items():  # each kind in turn, back to the text before
        for round_ in range(2 * edits):
            version += 1
            text = after if round_ % 2 == 0 else before
            event = published[uri] = asyncio.Event()
            sent = time.perf_counter()
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)]))
            await asyncio.wait_for(event.wait(), 30)
            times[edit].append(time.perf_counter() - sent)
    edited_rss = rss_mib(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"load": load, "loaded_rss": loaded_rss, "edited_rss": edited_rss, "times": times}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=40, help="edits of each kind (half of them undo the other half)")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    options = parser.parse_args()
    corpus = corpus_module.build(options.work)
    cache = corpus / ".preflight_cache"
    warm = cache.exists()
    result = asyncio.run(measure(corpus, options.edits // 2 or 1))
    ms = lambda values, q: 1000 * values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    print(f"corpus: {corpus} (facts cache {'warm' if warm else 'cold'} at start)")
    print(f"full workspace load: {result['load']:.2f} s, server RSS {result['loaded_rss']:.0f} MiB "
          f"(after {sum(map(len, result['times'].values()))} edits: {result['edited_rss']:.0f} MiB)")
    print("| edit | median ms | p90 ms | max ms | edits | target ms |\n|---|---|---|---|---|---|")
    labels = {"run": f"Python script, the W&B run's name ({SCRIPT})",
              "arguments": f"Python script, a training argument ({SCRIPT})", "workflow": f"workflow ({WORKFLOW})"}
    for edit, values in result["times"].items():
        values = sorted(values)
        print(f"| {labels[edit]} | {1000 * statistics.median(values):.1f} | {ms(values, 0.9):.1f} "
              f"| {1000 * values[-1]:.1f} | {len(values)} | {TARGETS[edit]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
