"""The ``hazfleet`` console script.

Exit codes: 0 success; 1 the drill ran and its success criteria did not hold (``mission``:
the API refused the request); 2 bad command line, config, scenario or mission file;
3 the broker (``mission``: the API) could not be reached or started.  ``drill --runs N``
(:mod:`simulator.batch`) exits 0 only if every run passed.

``serve`` is in :mod:`hazfleet.serve`; ``mission`` and ``user`` in
:mod:`hazfleet.cli_missions`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console

from drivers.broker import EmbeddedBroker
from drivers.config_file import validation_to_config_error
from drivers.errors import ConfigError, HazfleetError, TransportError
from drivers.mqtt import MqttSettings, parse_broker_url
from hazfleet import __version__, cli_alerts, cli_detect, cli_fleet, cli_missions, paths, serve
from hazfleet.config import HazfleetConfig, load_config

if TYPE_CHECKING:
    from simulator.scenario import Scenario

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TRANSPORT = 0, 1, 2, 3

log = logging.getLogger("hazfleet")


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--speed: expected a number or 'max', got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--speed: must be positive, got {text!r}")
    return value


def _runs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--runs: expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--runs: must be at least 1, got {text!r}")
    return value


def _processes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--processes: expected an integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--processes: must be at least 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hazfleet", description="Send robots, not people, into danger."
    )
    p.add_argument("--version", action="version", version=f"hazfleet {__version__}")
    p.add_argument(
        "--config", help="main config file (default: $HAZFLEET_CONFIG or config/hazfleet.yaml)"
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("drill", help="run a simulated drill end to end over MQTT")
    d.add_argument(
        "scenario", nargs="?", help="bundled drill name or YAML path (default from config)"
    )
    d.add_argument("--broker", help="'embedded' or mqtt://host:port (default from config)")
    d.add_argument(
        "--speed",
        type=_speed,
        default=argparse.SUPPRESS,
        help="simulated seconds per wall second, or 'max'",
    )
    d.add_argument("--seed", type=int, default=None, help="random seed (default from config)")
    d.add_argument(
        "--runs",
        type=_runs,
        default=1,
        help="run N drills with seeds SEED, SEED+1, ... and write batch.json/batch.html",
    )
    d.add_argument(
        "--processes",
        type=_processes,
        default=None,
        help="processes the drill runs in: 1 = all in this one, N > 1 = the controller "
        "here and the robots in N - 1 workers (default: 1 up to 3 robots or with faults, "
        "else this one and a worker per 50 robots, at most 4)",
    )
    d.add_argument("--report", help="folder for summary.json (default: <report_dir>/<scenario>)")
    d.add_argument("--quiet", action="store_true", help="no live progress")

    serve.register(sub)
    cli_missions.register(sub)
    cli_alerts.register(sub)
    cli_fleet.register(sub)
    cli_detect.register(sub)
    return p


def _broker_label(url: str, broker: EmbeddedBroker | None) -> str:
    return f"embedded ({broker.kind}) {broker.url}" if broker is not None else url


def _drill(args: argparse.Namespace, cfg: HazfleetConfig, console: Console) -> int:
    # imported here so that `hazfleet --help` stays fast
    from hazfleet.progress import ProgressView
    from simulator.drill import DrillRunner
    from simulator.recorder import DrillRecorder, fan_out, kpis
    from simulator.report import write_report
    from simulator.scenario import load_scenario

    scenario_path = paths.scenario_file(args.scenario or cfg.drill.scenario)
    scenario = load_scenario(scenario_path)
    seed = cfg.drill.seed if args.seed is None else args.seed
    if seed < 0:
        raise ConfigError("--seed", "", "must be zero or positive")
    processes: int | None = args.processes
    if processes is not None and processes > 1 and scenario.faults:
        raise ConfigError(
            "--processes",
            "",
            f"scenario {scenario.name} has faults, which need the robots in one process "
            f"(--processes 1), got {processes}",
        )
    speed = (
        args.speed
        if "speed" in args
        else (None if cfg.drill.speed == "max" else float(cfg.drill.speed))
    )
    url = args.broker or cfg.broker.url
    report_dir = Path(args.report) if args.report else Path(cfg.drill.report_dir) / scenario.name

    # credentials and TLS files come from the config; the URL may be overridden
    try:
        mqtt = MqttSettings.model_validate({**cfg.broker.model_dump(), "url": url})
    except ValidationError as e:
        raise validation_to_config_error("--broker", e) from e
    broker: EmbeddedBroker | None = None
    if url == "embedded":
        broker = EmbeddedBroker()
        broker.start()
        host, port = broker.host, broker.port
    else:
        host, port, _tls = parse_broker_url(url)
    if args.runs > 1:
        try:
            return _batch(
                args.runs,
                scenario,
                seed,
                speed,
                host,
                port,
                url,
                broker,
                mqtt,
                cfg,
                report_dir,
                console,
                processes,
            )
        finally:
            if broker is not None:
                broker.stop()
    try:
        speed_text = "max" if speed is None else f"{speed:g}×"
        console.print(
            f"drill [bold]{scenario.name}[/] · seed {seed} · speed {speed_text} · "
            f"broker {_broker_label(url, broker)}",
            highlight=False,
        )
        recorder = DrillRecorder()  # records even when --quiet: the report needs it
        with ProgressView(console) as view:
            runner = DrillRunner(
                scenario,
                host,
                port,
                broker_label=_broker_label(url, broker),
                seed=seed,
                speed=speed,
                mqtt=mqtt,
                controller_settings=cfg.controller.settings(scenario.interface),
                on_progress=recorder if args.quiet else fan_out(recorder, view),
                broker=broker,  # a broker_outage fault stops and restarts it
                processes=processes,
            )
            result = runner.run()
    finally:
        if broker is not None:
            broker.stop()

    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path = report_dir / "summary.json"
    tmp = summary_path.with_suffix(".json.tmp")
    summary = result.summary()
    summary["kpis"] = kpis(summary, recorder)
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(summary_path)  # never leave a half-written summary behind
    report_path = write_report(
        report_dir, summary, recorder, scenario.site, scenario.solids, scenario.occupancy
    )
    verdict = "[green]PASSED[/]" if result.passed else "[red]FAILED[/]"
    console.print(
        f"drill {scenario.name}: {verdict} in {result.sim_seconds:.1f} simulated s "
        f"({result.wall_seconds:.1f} wall s); summary: {summary_path}",
        highlight=False,
    )
    for f in result.failures:
        console.print(f"  [red]✗[/] {f}", highlight=False)
    console.print(f"report: {report_path}", highlight=False)
    return EXIT_OK if result.passed else EXIT_FAILED


def _batch(
    runs: int,
    scenario: Scenario,
    seed: int,
    speed: float | None,
    host: str,
    port: int,
    url: str,
    broker: EmbeddedBroker | None,
    mqtt: MqttSettings,
    cfg: HazfleetConfig,
    report_dir: Path,
    console: Console,
    processes: int | None,
) -> int:
    """``--runs N``: N drills on one broker, one line each, then the batch summary."""
    from simulator.batch import RunRecord, run_batch, write_batch

    seeds = list(range(seed, seed + runs))
    speed_text = "max" if speed is None else f"{speed:g}×"
    console.print(
        f"batch [bold]{scenario.name}[/] · {runs} runs, seeds {seeds[0]}..{seeds[-1]} · "
        f"speed {speed_text} · broker {_broker_label(url, broker)}",
        highlight=False,
    )

    def one(r: RunRecord) -> None:
        s = r.summary
        verdict = "[green]PASSED[/]" if r.passed else "[red]FAILED[/]"
        console.print(
            f"  seed {r.seed}: {verdict} in {s['sim_seconds']:.1f} simulated s "
            f"({s['wall_seconds']:.1f} wall s); {r.folder / 'summary.json'}",
            highlight=False,
        )
        for f in s["failures"]:
            console.print(f"    [red]✗[/] {f}", highlight=False)

    records = run_batch(
        scenario,
        host,
        port,
        broker_label=_broker_label(url, broker),
        seeds=seeds,
        report_dir=report_dir,
        speed=speed,
        mqtt=mqtt,
        controller_settings=cfg.controller.settings(scenario.interface),
        on_run=one,
        processes=processes,
    )
    json_path, html_path = write_batch(report_dir, records)
    passed = sum(r.passed for r in records)
    colour = "green" if passed == len(records) else "red"
    console.print(
        f"batch {scenario.name}: [{colour}]{passed} of {len(records)} passed[/]; "
        f"summary: {json_path}",
        highlight=False,
    )
    console.print(f"report: {html_path}", highlight=False)
    return EXIT_OK if passed == len(records) else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = (
        logging.WARNING
        if args.verbose == 0
        else logging.INFO
        if args.verbose == 1
        else logging.DEBUG
    )
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True, soft_wrap=True)
    try:
        if args.command == "detect":
            return cli_detect.run(args)
        cfg = load_config(paths.config_file(args.config))
        if args.command == "drill":
            return _drill(args, cfg, console)
        if args.command == "serve":
            return serve.serve(args, cfg, console)
        if args.command == "mission":
            return cli_missions.run_mission(args, cfg, console)
        if args.command == "user":
            return cli_missions.run_user(args, cfg)
        if args.command == "alert":
            return cli_alerts.run_alert(args, cfg, console)
        if args.command == "fleet":
            return cli_fleet.run_fleet(args, cfg, console)
    except ConfigError as e:
        console.print(f"[red]error:[/] {e}", highlight=False)
        return EXIT_USAGE
    except TransportError as e:
        console.print(f"[red]broker error:[/] {e}", highlight=False)
        return EXIT_TRANSPORT
    except HazfleetError as e:
        console.print(f"[red]error:[/] {e}", highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("interrupted", highlight=False)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
