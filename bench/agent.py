"""The edge agent's throughput: the log of ``bench/ingest.py`` through ``streampanel agent
--once`` to a central server on the same machine, against a local ``streampanel ingest`` of
the same file into the same store, in the same run, on SQLite and PostgreSQL.

    flock /tmp/bench.lock .venv/bin/python bench/agent.py [--lines 5000000] [--rounds 5]
                                                          [--stores sqlite,postgresql]

Each round runs both, alternately, each into a server of its own (so neither finds the file
already ingested).  The agent's time runs from its start to its exit, which comes only once
the centre has acknowledged every block: reading, parsing, its spool, HTTP and the centre's
commits are all in it.  The local ingest's time runs from its start to its exit too.  Both
stores' totals are checked equal after each round.  Figures are the median over rounds; the
throughput figure is the median of the rounds' ratios (local time / agent time).

Goals: agent throughput >= 0.9 x local ingest; request bytes sent <= 0.5 % of the log's
size; agent peak RSS < 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

from _common import bench_env, print_table, running_server, temp_dir  # noqa: E402

from ingest import generate, run_one  # noqa: E402

_SENT = re.compile(r"stopped: (\d+) blocks delivered .*?, (\d+) bytes sent, (\d+) blocks left")

SETUP = """
import sys
from pathlib import Path
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import issue_ingest_token
rt = open_runtime(Settings())
with write_transaction(rt.engine) as c:
    accounts.create_account(c, 1, "bench")
    for i in range(int(sys.argv[1])):
        accounts.create_application(c, 1, f"app{i:03d}")
    for n in range(int(sys.argv[2])):
        token = issue_ingest_token(c, accounts.get_or_create_server(c, f"AGENT-{n}"))
        Path(sys.argv[3], f"AGENT-{n}.token").write_text(token)
"""

TOTALS = """
import json, sys
from sqlalchemy import func, select
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store.tables import servers
from streampanel.store.tables.usage import usage_daily, usage_unattributed
rt = open_runtime(Settings())
out = {}
with rt.engine.connect() as c:
    for name in sys.argv[1:]:
        sid = c.execute(select(servers.c.id).where(servers.c.name == name)).scalar_one()
        rows = []
        for table in (usage_daily, usage_unattributed):
            rows.append(c.execute(
                select(func.count(), func.sum(table.c.bytes), func.sum(table.c.requests))
                .where(table.c.server_id == sid)).one())
        out[name] = [[int(v or 0) for v in row] for row in rows]
print(json.dumps(out))
"""


def bench_store(store: str, env: dict[str, str], log: Path, options: argparse.Namespace) -> dict:
    python = sys.executable
    data = Path(env["STREAMPANEL_DATA_DIR"])
    tokens = data / "tokens"
    tokens.mkdir()
    subprocess.run(
        [python, "-c", SETUP, str(options.apps), str(options.rounds), str(tokens)],
        env=env,
        check=True,
    )
    figures: dict[str, list[float]] = {
        "local": [],
        "agent": [],
        "ratio": [],
        "rss": [],
        "sent": [],
    }
    with running_server({**env, "STREAMPANEL_BACKGROUND_SERVICES": "false"}) as centre:
        for n in range(options.rounds):
            local_server, agent_server = f"LOCAL-{n}", f"AGENT-{n}"
            command = [python, "-m", "streampanel", "ingest", "access-log", "--create-server"]
            wall, _, _ = run_one([*command, "--server", local_server, "--json", str(log)], env)
            figures["local"].append(wall)

            config = data / f"agent-{n}.toml"
            config.write_text(
                f'central_url = "{centre.url}"\n'
                f'server = "{agent_server}"\n'
                f'token_file = "{tokens / f"{agent_server}.token"}"\n'
                f'state_dir = "{data / f"agent-state-{n}"}"\n'
                f'[[access_logs]]\npath = "{log}"\n'
            )
            started = time.perf_counter()
            with open(data / f"agent-{n}.log", "wb") as out:
                process = subprocess.Popen(
                    [python, "-m", "streampanel", "agent", "--once", "--config", str(config)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={k: v for k, v in env.items() if not k.startswith("STREAMPANEL_")},
                )
                _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            output = (data / f"agent-{n}.log").read_text()
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"agent failed: {output[-2000:]}")
            found = _SENT.search(output)
            assert found and found[3] == "0", output[-2000:]
            figures["agent"].append(wall)
            # The two runs of a round are adjacent, so they share the machine's load.
            figures["ratio"].append(figures["local"][-1] / wall)
            figures["rss"].append(usage.ru_maxrss / 1024)
            figures["sent"].append(float(found[2]))

            check = subprocess.run(
                [python, "-c", TOTALS, local_server, agent_server],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            totals = json.loads(check.stdout)
            assert totals[local_server] == totals[agent_server], totals
            print(
                f"  {store} round {n + 1}: local {figures['local'][-1]:.2f} s, "
                f"agent {wall:.2f} s ({int(found[1])} blocks, {int(found[2]):,} bytes sent, "
                f"peak RSS {figures['rss'][-1]:.0f} MB); totals equal",
                flush=True,
            )
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stores", default="sqlite,postgresql")
    options = parser.parse_args()
    log = generate(options.lines, options.apps)
    size = log.stat().st_size
    print(f"log: {log} ({options.lines:,} lines, {size / 1e6:,.0f} MB)")
    run_one(["wc", "-l", str(log)])  # warm the page cache
    rows: list[list[object]] = []
    for store in options.stores.split(","):
        with temp_dir(f"streampanel-bench-agent-{store}-") as data:
            if store == "sqlite":
                result = bench_store(store, bench_env(data), log, options)
            else:
                from tests.support.postgres import ThrowawayPostgres

                cluster = ThrowawayPostgres()
                try:
                    url = cluster.start()
                    env = bench_env(data, url) | {"STREAMPANEL_MIGRATE_ON_START": "true"}
                    result = bench_store(store, env, log, options)
                finally:
                    cluster.stop()
        rows.append(
            [
                store,
                f"{result['local']:.2f}",
                f"{result['agent']:.2f}",
                f"{options.lines / result['agent']:,.0f}",
                f"{result['ratio']:.2f}",
                f"{result['sent']:,.0f}",
                f"{100 * result['sent'] / size:.4f}",
                f"{result['rss']:.0f}",
            ]
        )
    print_table(
        f"agent --once vs local ingest, {options.lines:,} lines ({size / 1e6:,.0f} MB), "
        f"median of {options.rounds} rounds",
        [
            "store",
            "local s",
            "agent s",
            "agent lines/s",
            "x local (median round)",
            "bytes sent",
            "% of log",
            "agent peak RSS MB",
        ],
        rows,
    )
    print("goals: x local >= 0.9; bytes sent <= 0.5 % of the log; agent peak RSS < 400 MB")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
