"""The language server's latency and memory on the benchmark corpus (bench/corpus.py).

Starts the real `preflight server` process over stdio with pygls's LSP client, waits for the diagnostics of
the full workspace load, then edits one Python script and the workflow in turn, each edit adding or removing
one finding, and measures from the didChange notification to the publishDiagnostics of that file (the
coalescing delay set to 0, so that what is measured is the server's work). Memory is the server's resident
set (VmRSS) after the load and after the edits.

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
    variants = {
        script_uri: [script, script.replace('wandb.init(project="bench", ', 'wandb.init(project="bench", id="x", ')
                     if 'name="run' not in script else script.replace('name="run-7"', 'config={}')],
        workflow_uri: [workflow, workflow + STEP],
    }
    for uri, (text, _) in variants.items():
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "text", 1, text)))
    await asyncio.sleep(1.0)
    times: dict[str, list[float]] = {script_uri: [], workflow_uri: []}
    version = 1
    for round_ in range(edits):
        for uri in (script_uri, workflow_uri):
            version += 1
            text = variants[uri][(round_ + 1) % 2]
            event = published[uri] = asyncio.Event()
            sent = time.perf_counter()
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)]))
            await asyncio.wait_for(event.wait(), 30)
            times[uri].append(time.perf_counter() - sent)
    edited_rss = rss_mib(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"load": load, "loaded_rss": loaded_rss, "edited_rss": edited_rss,
            "python": times[script_uri], "workflow": times[workflow_uri]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    options = parser.parse_args()
    corpus = corpus_module.build(options.work)
    cache = corpus / ".preflight_cache"
    result = asyncio.run(measure(corpus, options.edits))
    py, wf = (sorted(result[k]) for k in ("python", "workflow"))
    ms = lambda values, q: 1000 * values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    print(f"corpus: {corpus} (facts cache {'warm' if cache.exists() else 'cold'} at start)")
    print(f"full workspace load: {result['load']:.2f} s, server RSS {result['loaded_rss']:.0f} MiB "
          f"(after {options.edits * 2} edits: {result['edited_rss']:.0f} MiB)")
    print("| edit | median ms | p90 ms | max ms | edits | target |\n|---|---|---|---|---|---|")
    print(f"| Python script ({SCRIPT}) | {1000 * statistics.median(py):.1f} | {ms(py, 0.9):.1f} | {1000 * py[-1]:.1f} "
          f"| {len(py)} | 50 |")
    print(f"| workflow ({WORKFLOW}) | {1000 * statistics.median(wf):.1f} | {ms(wf, 0.9):.1f} | {1000 * wf[-1]:.1f} "
          f"| {len(wf)} | 100 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
