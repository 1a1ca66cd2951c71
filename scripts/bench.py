"""Load benchmark: simulated citizens through the REST channel, project vs. stock Rasa.

    python -m scripts.bench [--levels 1,20,50] [--seconds 30] [--skip-stock]

For each model (the project's, and Rasa's stock `rasa init` pipeline and policies trained on
the same data: models/stock/stock-full.tar.gz, trained here when missing) it starts the whole
stack with `bot.run` on free ports, then for each concurrency level runs that many citizens,
each repeating realistic multi-turn conversations (procedure questions with follow-ups,
dossier lookups against the sandbox, online-service starts) for --seconds. It reports p50,
p95, p99 latency, messages per second, errors and the resident memory of every process, plus
the floor: the cost of normalisation + tokenisation + intent classification alone.
Results: results/bench.json and results/bench.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
STOCK_MODEL = ROOT / "models" / "stock" / "stock-full.tar.gz"

# Seeded sandbox dossiers (docs/sandbox.md): code and last 4 phone digits.
DOSSIERS = [("000.00.14.H46-261123-0015", "0284"), ("000.31.05.H46-261124-0021", "5903"),
            ("000.00.12.H46-261117-0031", "8075"), ("000.31.08.H46-261112-0027", "7506")]
PROCEDURE_TALKS = [
    ["xin chào", "thủ tục đăng ký khai sinh như thế nào", "cần giấy tờ gì", "lệ phí bao nhiêu", "cảm ơn"],
    ["lam so do mat bao lau", "nộp ở đâu", "thế còn lệ phí?"],
    ["đk kết hôn cần j", "mất bao lâu", "tạm biệt"],
    ["lệ phí làm căn cước bao nhiêu", "làm online được không", "cảm ơn nhé"],
    ["đăng ký tạm trú ở đâu", "ở huyện Núi Thành", "cần giấy tờ gì"],
]


def conversation(rng: random.Random) -> List[str]:
    kind = rng.random()
    if kind < 0.6:
        return rng.choice(PROCEDURE_TALKS)
    if kind < 0.85:
        code, verification = rng.choice(DOSSIERS)
        return ["kiểm tra hồ sơ của tôi", code.lower().replace(".", " "), verification, "không"]
    return ["tôi muốn nộp hồ sơ tạm trú trực tuyến", "có", "Nguyễn Văn An", "0905123456", "bỏ qua", "không"]


# The cold mix: traffic nobody tuned for (scripts/mixes/cold.yml, written blind), drawn so that
# about half the messages open a new conversation.
COLD_MIX = ROOT / "scripts" / "mixes" / "cold.yml"
COLD_WEIGHTS = {"openers": 0.25, "fallbacks": 0.12, "out_of_scope": 0.12, "long": 0.06, "forms": 0.25, "lookups": 0.20}
_cold: Dict[str, list] = {}


def cold_conversation(rng: random.Random) -> List[str]:
    if not _cold:
        import yaml

        _cold.update(yaml.safe_load(COLD_MIX.read_text(encoding="utf-8")))
    kind = rng.choices(list(COLD_WEIGHTS), weights=list(COLD_WEIGHTS.values()))[0]
    chosen = rng.choice(_cold[kind])
    return [str(message) for message in chosen] if isinstance(chosen, list) else [str(chosen)]


MIXES = {"project": conversation, "cold": cold_conversation}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_block(size: int = 60) -> int:
    """A base for REPLICA_PORT_BASE: the Rasa servers from it, the action servers from +50."""
    import random
    import socket

    while True:
        base = random.randrange(20000, 30000)  # below the ephemeral ports (32768-)
        try:
            for port in range(base, base + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def children(pid: int) -> List[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids + [g for k in kids for g in children(k)]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:
        return 0.0


def processes(supervisor: int) -> Dict[str, List[int]]:
    """Every process of the stack by name; replicas get "#2", "#3" (nginx: master and worker)."""
    named: Dict[str, List[int]] = {"supervisor": [supervisor]}
    for pid in children(supervisor):
        try:
            cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
        except FileNotFoundError:
            continue
        name = ("nginx" if cmd.startswith("nginx") else "action server" if "run actions" in cmd
                else "Rasa server" if "rasa_patches run" in cmd or "rasa run" in cmd else "sandbox" if "sandbox" in cmd
                else "notifier" if "notifier" in cmd else "analytics consumer" if "analytics consume" in cmd
                else "web" if "bot.web" in cmd else "staff" if "bot.staff" in cmd else cmd.split()[-1][:30])
        copies = sum(1 for key in named if key == name or key.startswith(f"{name} #"))
        named[name if copies == 0 else f"{name} #{copies + 1}"] = [pid]
    return named


def process_memory(supervisor: int) -> Dict[str, float]:
    return {name: round(sum(rss_mb(pid) for pid in pids), 1) for name, pids in processes(supervisor).items()}


def process_cpu(supervisor: int) -> Dict[str, float]:
    return {name: sum(cpu_s(pid) for pid in pids) for name, pids in processes(supervisor).items()}


class Stack:
    """The assistant started by bot.run on free ports, with its own temporary databases."""

    def __init__(self, model: Path, env_extra: Optional[Dict[str, str]] = None) -> None:
        self.port = free_port()
        self.var = Path(tempfile.mkdtemp(prefix="bench-var-"))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_PORT": str(self.port),
               "ACTIONS_PORT": str(free_port()), "ONESTOP_SANDBOX_PORT": str(free_port()),
               "NOTIFIER_PORT": str(free_port()), "WEB_PORT": str(free_port()),
               "STAFF_PORT": str(free_port()), "REPLICA_PORT_BASE": str(free_port_block()),
               "VAR_DIR": str(self.var), "RASA_TOKEN": "bench",
               **(env_extra or {})}
        self.log = open(RESULTS / f"bench-{model.stem}.log", "w")  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "bot.run", "serve", "--model", str(model)],
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def wait_answering(self, timeout: float = 600) -> float:
        import urllib.request

        body = json.dumps({"sender": "warmup", "message": "xin chào"}).encode()
        while time.monotonic() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited; see {self.log.name}")
            try:
                request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as reply:
                    if json.loads(reply.read()):
                        return time.monotonic() - self.started
            except OSError:
                time.sleep(0.25)
        raise RuntimeError("the stack did not answer in time")

    def wait_running(self, timeout: float = 600) -> float:
        """Until every process answers (bot.run starts some once the REST channel answers)."""
        while time.monotonic() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited; see {self.log.name}")
            if "The assistant is running" in Path(self.log.name).read_text(encoding="utf-8", errors="replace"):
                return time.monotonic() - self.started
            time.sleep(0.25)
        raise RuntimeError("the stack did not start every process in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


BUSY_PAUSE_S = 10.0  # a citizen told "busy, try again in a minute" waits, then sends it again


async def run_level(url: str, citizens: int, seconds: float, seed: int, mix: str = "project") -> Dict[str, float]:
    """Citizens who send their next message as soon as the answer arrives. Counted apart:
    `timeouts` (no answer within the client's 60 s), `busy` (told at once that the assistant
    is busy: 503 with Retry-After, the message is sent again after BUSY_PAUSE_S) and `errors`
    (anything else that is not an answer)."""
    latencies: List[float] = []
    counts = {"errors": 0, "timeouts": 0, "busy": 0}
    opened = 0  # messages that opened a new conversation
    deadline = time.monotonic() + seconds

    async def citizen(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal opened
        rng = random.Random(seed * 1000 + index)
        turn = 0
        while time.monotonic() < deadline:
            sender = f"bench-{seed}-{index}-{turn}"
            turn += 1
            for position, text in enumerate(MIXES[mix](rng)):
                opened += position == 0
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    try:
                        async with session.post(url, json={"sender": sender, "message": text},
                                                timeout=aiohttp.ClientTimeout(total=60)) as reply:
                            body = await reply.json(content_type=None)
                            status = reply.status
                    except asyncio.TimeoutError:
                        counts["timeouts"] += 1
                        break
                    except (aiohttp.ClientError, ValueError):
                        counts["errors"] += 1
                        break
                    if status == 503 and reply.headers.get("Retry-After"):
                        counts["busy"] += 1
                        await asyncio.sleep(BUSY_PAUSE_S)
                        continue
                    if status != 200 or not body:
                        counts["errors"] += 1
                    latencies.append((time.perf_counter() - started) * 1000)
                    break
                if time.monotonic() >= deadline:
                    return

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=citizens + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(citizen(i, session) for i in range(citizens)))
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))], 1)

    return {"citizens": citizens, "mix": mix, "messages": len(latencies), **counts,
            "new_conversation_share": round(opened / max(len(latencies), 1), 2),
            "messages_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(ordered), 1)}


def floor_ms(model: Path, samples: int = 300) -> float:
    """Normalisation + tokenisation + featurisation + intent classification, no HTTP, no core."""
    code = (
        "import asyncio, logging, time, json, sys\n"
        "logging.disable(logging.WARNING)\n"
        "from rasa.core.agent import Agent\n"
        f"agent = Agent.load({str(model)!r})\n"
        f"texts = {json.dumps([t for talk in PROCEDURE_TALKS for t in talk], ensure_ascii=False)}\n"
        "asyncio.run(agent.parse_message('xin chào'))\n"
        "start = time.perf_counter()\n"
        f"for i in range({samples}):\n"
        "    asyncio.run(agent.parse_message(texts[i % len(texts)]))\n"
        f"print(json.dumps((time.perf_counter() - start) * 1000 / {samples}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


# Stock Rasa's own stores and code for the stock model: Rasa's SQL tracker store on SQLite and
# none of bot/rasa_patches. The project runs endpoints.yml.
STOCK_ENDPOINTS = """action_endpoint:
  url: http://localhost:${ACTIONS_PORT}/webhook
tracker_store:
  type: SQL
  dialect: sqlite
  db: ${VAR_DIR}/rasa-tracker.db
"""


def bench_model(name: str, model: Path, levels: List[int], seconds: float,
                mixes: List[str]) -> Dict[str, object]:
    env: Dict[str, str] = {}
    if name == "stock":
        endpoints = RESULTS / "bench-stock-endpoints.yml"
        endpoints.write_text(STOCK_ENDPOINTS)
        # one Rasa server, as `rasa run` is: stock's in-memory lock store cannot be shared
        # (the run of 2026-12-04 in docs/bench/bench-2026-12-04-every-core.json gave stock two)
        env = {"RASA_ENDPOINTS": str(endpoints), "RASA_PATCHES_OFF": "all", "RASA_SERVERS": "1"}
    stack = Stack(model, env)
    try:
        startup = stack.wait_answering()
        running = stack.wait_running()
        print(f"[{name}] REST answers {startup:.1f} s after start, every process {running:.1f} s", flush=True)
        results: Dict[str, List[Dict[str, object]]] = {mix: [] for mix in mixes}
        for mix, level in [(mix, level) for mix in mixes for level in levels]:
            cpu_before = process_cpu(stack.process.pid)
            result = asyncio.run(run_level(stack.url, level, seconds, seed=level, mix=mix))
            result["rss_mb"] = process_memory(stack.process.pid)
            # CPU time per message: steadier than throughput on a shared (virtual) machine
            result["cpu_ms_per_message"] = {
                name: round((used - cpu_before.get(name, 0.0)) * 1000 / max(result["messages"], 1), 2)
                for name, used in process_cpu(stack.process.pid).items()}
            print(f"[{name}] {json.dumps(result, ensure_ascii=False)}", flush=True)
            results[mix].append(result)
    finally:
        stack.stop()
    return {"model": str(model), "startup_s": round(startup, 1), "all_running_s": round(running, 1), "mixes": results,
            "floor_ms": floor_ms(model)}


def train_stock() -> None:
    if STOCK_MODEL.exists():
        return
    print("… training the stock pipeline and policies (DIET, TED: slow)", flush=True)
    STOCK_MODEL.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.stock.yml",
                    "--data", "data/nlu", "data/rules", "data/stories", "--domain", "domain.yml",
                    "--out", str(STOCK_MODEL.parent), "--fixed-model-name", "stock-full"],
                   cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(f"✓ stock trained in {time.monotonic() - started:.0f} s", flush=True)


def chart(report: Dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, data in report["models"].items():
        for mix, results in data["mixes"].items():
            levels = [r["citizens"] for r in results]
            style = {"marker": "o", "label": f"{name}, {mix} mix", "linestyle": "-" if mix == "project" else "--"}
            left.plot(levels, [r["messages_per_s"] for r in results], **style)
            right.plot(levels, [r["p95_ms"] for r in results], **style)
    left.set(title="Throughput", xlabel="concurrent conversations", ylabel="messages / s")
    right.set(title="p95 latency", xlabel="concurrent conversations", ylabel="ms", yscale="log")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description="load benchmark, project vs. stock Rasa")
    parser.add_argument("--levels", default="1,20,50")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--mixes", default="project,cold", help="project (the designed conversations), cold")
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    mixes = [m for m in args.mixes.split(",") if m]
    unknown = [m for m in mixes if m not in MIXES]
    if unknown:
        parser.error(f"unknown mix {unknown}; known: {sorted(MIXES)}")
    RESULTS.mkdir(exist_ok=True)

    report: Dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M"), "seconds_per_level": args.seconds,
                                 "machine": f"{os.cpu_count()} cores", "models": {}}
    report["models"]["project"] = bench_model("project", Path(args.model), levels, args.seconds, mixes)
    if not args.skip_stock:
        train_stock()
        report["models"]["stock"] = bench_model("stock", STOCK_MODEL, levels, args.seconds, mixes)
        project, stock = report["models"]["project"], report["models"]["stock"]
        report["ratios"] = {mix: {
            str(p["citizens"]): {
                "throughput_x": round(p["messages_per_s"] / max(s["messages_per_s"], 0.01), 2),
                "p95_x_faster": round(s["p95_ms"] / max(p["p95_ms"], 0.01), 2),
            }
            for p, s in zip(project["mixes"][mix], stock["mixes"][mix])} for mix in mixes}
    for name, data in report["models"].items():
        first = data["mixes"][mixes[0]][0]["p50_ms"]
        data["round_trip_over_floor_ms"] = round(first - data["floor_ms"], 1)
    name = "bench-project" if args.skip_stock else "bench"  # a partial run keeps the full report
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    chart(report, RESULTS / f"{name}.png")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
