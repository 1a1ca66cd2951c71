"""Start-up time, memory and REST latency of the running assistant (Foundation figures).

    python -m scripts.measure [--messages 200]

Starts `python -m bot.run serve` on free ports, measures the seconds until the REST channel
answers a message, the resident memory of every process, then the round-trip latency of
N sequential messages (a mix of citizen questions). Results: results/measure.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import List

from scripts.bench import process_memory

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    "xin chào", "đk kết hôn cần j", "lệ phí làm căn cước bao nhiêu", "lam so do mat bao lau",
    "nộp hồ sơ tạm trú ở đâu", "khai tử làm online được không", "kiểm tra hồ sơ 000.00.12.H46-251104-0007",
    "quên mật khẩu vneid", "thanh toán lệ phí online thế nào", "cho gặp cán bộ", "cảm ơn", "tạm biệt",
]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def say(url: str, sender: str, text: str, timeout: float = 30) -> list:
    request = urllib.request.Request(
        url, data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description="measure start-up, memory and latency")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    args = parser.parse_args()

    rasa_port, actions_port = free_port(), free_port()
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTIONS_PORT": str(actions_port),
           "RASA_TOKEN": "measure", "PYTHONPATH": str(ROOT)}
    log = open(ROOT / "results" / "measure-assistant.log", "w")  # noqa: SIM115
    started = time.monotonic()
    supervisor = subprocess.Popen([sys.executable, "-m", "bot.run", "serve", "--model", args.model],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    try:
        while True:
            if supervisor.poll() is not None:
                print("✗ the assistant exited; see results/measure-assistant.log")
                return 1
            try:
                if say(url, "warmup", "xin chào", timeout=5):
                    break
            except OSError:
                time.sleep(0.2)
        first_answer_s = time.monotonic() - started

        latencies: List[float] = []
        for i in range(args.messages):
            text = MESSAGES[i % len(MESSAGES)]
            t0 = time.perf_counter()
            answer = say(url, f"citizen-{i // len(MESSAGES)}", text)
            latencies.append((time.perf_counter() - t0) * 1000)
            assert answer, text

        processes = process_memory(supervisor.pid)

        result = {
            "seconds_until_rest_answers": round(first_answer_s, 1),
            "messages": args.messages,
            "latency_ms": {"p50": round(statistics.median(latencies), 1),
                           "p95": round(percentile(latencies, 0.95), 1),
                           "max": round(max(latencies), 1)},
            "rss_mb": processes,
        }
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=30)
        log.close()
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "measure.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
