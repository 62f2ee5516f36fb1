"""The whole local stack in one object: what `make dev` runs and what the e2e tests start."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sentrix.tokens import write_key_file
from sentrix.urls import shown
from sentrix_local import state
from sentrix_local.gateway import Gateway, serve
from sentrix_local.invoke import LocalFunction, apply_environment
from sentrix_local.logs import install as install_function_logs
from sentrix_local.logs import say
from sentrix_local.poller import QueuePoller
from sentrix_local.postgres import LocalPostgres
from sentrix_local.preflight import StackError, preflight
from sentrix_local.processes import ManagedProcess, alive, python_module, stop_pid, wait_http
from sentrix_local.provision import Provisioned, aws_client, provision
from sentrix_local.template import REPO_ROOT, stack_spec
from sentrix_local.yolo_host import announce, external_url


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackConfig:
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("SENTRIX_STATE_DIR", REPO_ROOT / ".local/dev")))
    gateway_port: int = field(default_factory=lambda: _env_int("SENTRIX_GATEWAY_PORT", 3000))
    moto_port: int = field(default_factory=lambda: _env_int("SENTRIX_MOTO_PORT", 5005))
    yolo_port: int = field(default_factory=lambda: _env_int("SENTRIX_YOLO_PORT", 8001))
    pg_port: int = field(default_factory=lambda: _env_int("SENTRIX_PG_PORT", 54329))
    database: str = "sentrix"
    resource_prefix: str = "sentrix-local"
    retry_delay_s: int = field(default_factory=lambda: _env_int("SENTRIX_RETRY_DELAY_S", 5))
    yolo_faults: str | None = field(default_factory=lambda: os.environ.get("YOLO_STANDIN_FAULTS"))
    # Any YOLO host instead of the stand-in (sentrix_local.yolo_host); read as given, checked by `up` only, so
    # `make down` and `make reset` work whatever it holds.
    yolo_service_url: str | None = field(
        default_factory=lambda: (os.environ.get("YOLO_SERVICE_URL") or "").strip() or None
    )
    # Save S3 objects and queued messages on stop, restore them on start (sentrix_local.state); 0 for
    # throw-away stacks (the load run).
    keep_state: bool = field(default_factory=lambda: os.environ.get("SENTRIX_KEEP_STATE", "1") != "0")
    # Fault knob for load tests: this fraction of processed messages is delivered twice more (QueuePoller).
    sqs_redeliver_fraction: float = field(
        default_factory=lambda: float(os.environ.get("SENTRIX_SQS_REDELIVER_FRACTION") or 0)
    )

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def moto_state_dir(self) -> Path:
        """moto's S3 objects and SQS messages, saved when the stack stops (sentrix_local.state)."""
        return self.state_dir / "moto"

    @property
    def resources_file(self) -> Path:
        return self.run_dir / "resources.json"

    def postgres(self) -> LocalPostgres:
        return LocalPostgres(self.state_dir / "pgdata", self.pg_port)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def external_yolo(self) -> str | None:
        """The host YOLO_SERVICE_URL names (None: the stand-in); StackError when it is not a usable URL."""
        return external_url(self.yolo_service_url)

    @property
    def standin_url(self) -> str:
        return f"http://127.0.0.1:{self.yolo_port}"

    @property
    def yolo_url(self) -> str:
        """What the functions call: the external host as given (credentials included), else the stand-in."""
        return self.external_yolo or self.standin_url

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.pg = self.config.postgres()
        self.moto = ManagedProcess(
            "moto",
            python_module("moto.server", "-H", "127.0.0.1", "-p", str(self.config.moto_port)),
            run_dir=self.config.run_dir,
            log_file=self.config.log_dir / "moto.log",
        )
        # No stand-in at all when another host is used: nothing started, nothing to stop, no yolo.pid. The
        # stand-in inherits the whole environment, so every YOLO_STANDIN_* setting reaches it.
        self.yolo: ManagedProcess | None = None
        if self.config.yolo_service_url is None:
            yolo_env = {"YOLO_STANDIN_FAULTS": self.config.yolo_faults} if self.config.yolo_faults else {}
            self.yolo = ManagedProcess(
                "yolo",
                python_module("yolo_standin", "--host", "127.0.0.1", "--port", str(self.config.yolo_port)),
                run_dir=self.config.run_dir,
                log_file=self.config.log_dir / "yolo.log",
                env=yolo_env,
            )
        self.gateway_server = None
        self.pollers: list[QueuePoller] = []
        self.resources: Provisioned | None = None
        self._unclean = False

    def start(self) -> dict[str, str]:
        """Start every service, migrate, provision from the template, then serve; returns the URLs."""
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        (config.run_dir / "stack.pid").write_text(str(os.getpid()))
        database_existed = self.pg.initialised()
        self._unclean = state.unclean(config.moto_state_dir, database_existed)
        self.pg.start()
        self.pg.ensure_database(config.database)
        from sentrix.db import migrate

        # Migrated as the owner; the functions run as the application role, as in the cloud.
        migrate.upgrade(self.pg.url(config.database))
        app_url = self.pg.set_app_password(config.database)
        self.moto.start()
        wait_http(f"{config.moto_url}/moto-api/", process=self.moto.process, log_file=self.moto.log_file)
        if self.yolo is not None:
            self.yolo.start()
            wait_http(f"{config.standin_url}/health", process=self.yolo.process, log_file=self.yolo.log_file)
        else:
            for level, line in announce(config.yolo_url, os.environ):
                say("stack", line, level)
        resources = self.resources = provision(
            config.moto_url, prefix=config.resource_prefix, before_notifications=self._restore_state
        )
        config.resources_file.write_text(json.dumps(resources.__dict__))
        spec = stack_spec()
        detect_queue = next(q for q in spec.queues.values() if q.consumer)
        os.environ.update(
            {
                "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
                # The local stack explains its 500s (exception and traceback); deployed stages never do.
                "SENTRIX_DEBUG_ERRORS": os.environ.get("SENTRIX_DEBUG_ERRORS", "1"),
                # Alert webhooks may be plain http to a receiver on this machine (docs/alerts.md); never deployed.
                "SENTRIX_WEBHOOK_LOOPBACK": os.environ.get("SENTRIX_WEBHOOK_LOOPBACK", "1"),
                # Alert e-mail subscriptions become SNS subscriptions of this topic on moto (docs/alerts.md).
                "REPORT_SUBSCRIPTIONS_TOPIC_ARN": resources.topic_arns.get("SubscriptionsTopic", ""),
                "DATABASE_URL": app_url,
                "AWS_ENDPOINT_URL": config.moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "IMAGES_BUCKET": resources.bucket(),
                "DETECT_QUEUE_URL": resources.queue_urls[detect_queue.logical_id],
                "YOLO_SERVICE_URL": config.yolo_url,
                "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", "http://localhost:5173,http://127.0.0.1:5173"),
                # The access-token signing key: generated once into the state dir (never committed), kept
                # across restarts so issued tokens stay valid (docs/auth.md). Locally the verifiers (the
                # authorizer, report) take its public halves in-process; deployed, they read only the
                # public set (AUTH_PUBLIC_KEYS_SECRET_ARN).
                "AUTH_SIGNING_KEY_FILE": str(write_key_file(config.state_dir / "auth" / "signing-key.pem")),
            }
        )
        os.environ.pop("AUTH_SIGNING_KEY_SECRET_ARN", None)
        os.environ.pop("AUTH_PUBLIC_KEYS_SECRET_ARN", None)
        functions = {name: LocalFunction(fn) for name, fn in spec.functions.items()}
        # The template's per-function variables (detect's DETECT_*, …); each function's service per invocation.
        apply_environment(functions, os.environ)
        install_function_logs(config.log_dir)
        self.gateway_server = serve(Gateway(spec, functions), "127.0.0.1", config.gateway_port)
        sqs = aws_client("sqs", config.moto_url)
        for queue in spec.queues.values():
            if queue.consumer:
                poller = QueuePoller(
                    sqs,
                    resources.queue_urls[queue.logical_id],
                    resources.queue_arns[queue.logical_id],
                    functions[queue.consumer],
                    batch_size=queue.batch_size,
                    retry_delay_s=config.retry_delay_s,
                    redeliver_fraction=config.sqs_redeliver_fraction,
                )
                poller.start()
                self.pollers.append(poller)
        return {
            "api": f"{config.gateway_url}/api/v1",
            "health": f"{config.gateway_url}/api/v1/health",
            "moto (S3, SQS)": config.moto_url,
            **({"yolo stand-in": config.standin_url} if self.yolo else {"yolo (external)": shown(config.yolo_url)}),
            "postgres": app_url,
            "postgres (owner)": self.pg.url(config.database),
            "bucket": resources.bucket(),
            "detect queue": resources.queue_urls[detect_queue.logical_id],
        }

    def _restore_state(self, resources: Provisioned) -> None:
        if not self.config.keep_state:
            return
        if self._unclean:
            say(
                "stack",
                "the last run was not stopped (Ctrl-C or `make down`): the images and queued messages it "
                "held are gone, the database kept its analyses. `make reset` starts everything clean.",
                "WARNING",
            )
        # After an unclean run the saved messages may have been processed already: objects only.
        restored = state.restore(
            self.config.moto_url, resources, self.config.moto_state_dir, messages=not self._unclean
        )
        if any(restored.values()):
            say("stack", f"restored {restored['objects']} object(s) and {restored['messages']} queued message(s)")

    def save_state(self) -> None:
        """Save moto's objects and messages next to the database (the gateway and pollers are stopped)."""
        if not self.config.keep_state:
            return
        if self.resources is None or self.moto.process is None or self.moto.process.poll() is not None:
            return
        saved = state.save(self.config.moto_url, self.resources, self.config.moto_state_dir)
        say("stack", f"saved {saved['objects']} object(s) and {saved['messages']} queued message(s)")

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        if self.gateway_server is not None:
            self.gateway_server.shutdown()
            self.gateway_server.server_close()
        try:
            self.save_state()
        except Exception as exc:  # stopping must go on: what is not saved is reported, not raised
            say("stack", f"could not save S3/SQS state: {type(exc).__name__}: {exc}", "ERROR")
        if self.yolo is not None:
            self.yolo.stop()
        self.moto.stop()
        self.pg.stop()
        (self.config.run_dir / "stack.pid").unlink(missing_ok=True)

    def check(self) -> None:
        """Before anything starts: no stack already running, every port free (StackError says which is not)."""
        external_url(self.config.yolo_service_url)  # a malformed YOLO_SERVICE_URL: refused before anything else
        clear_leftovers(self.config)
        preflight(self.config, postgres_ours=self.pg.running(), standin=self.yolo is not None)

    def run_forever(self) -> None:
        self.check()  # outside the try: a refused start must not stop what another stack runs
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        try:
            yolo = "the YOLO stand-in" if self.yolo else f"no YOLO stand-in (YOLO host {shown(self.config.yolo_url)})"
            say("stack", f"starting: PostgreSQL, moto (S3, SQS), {yolo}, the gateway, the SQS poller")
            urls = self.start()
            print("\nSentrix local stack is up:", flush=True)
            for name, url in urls.items():
                print(f"  {name:16} {url}", flush=True)
            print("Ctrl-C (or `make down`) stops everything.\n", flush=True)
            stopped.wait()
        finally:
            print("stopping the local stack…", flush=True)
            self.stop()


def clear_leftovers(config: StackConfig) -> None:
    """A stack still running is an error; what a killed one left (moto, the stand-in) is saved and stopped."""
    stack_pid = config.run_dir / "stack.pid"
    if stack_pid.exists():
        pid = int(stack_pid.read_text())
        if pid != os.getpid() and alive(pid) and _runs(pid, b"sentrix_local"):
            raise StackError(f"the local stack is already running (pid {pid}); `make down` stops it")
        down(config)


# What each recorded pid must still be running to be stopped by `down`.
COMMANDS = {"yolo": b"yolo_standin", "moto": b"moto.server"}


def _runs(pid: int, command: bytes) -> bool:
    """Whether `pid` still runs `command` (after a reboot the number may belong to anything)."""
    try:
        return command in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask: trust the pid file


def down(config: StackConfig | None = None) -> None:
    """Stop a stack started elsewhere, by the pids it recorded (nothing broader)."""
    config = config or StackConfig()
    stack_pid = config.run_dir / "stack.pid"
    if stack_pid.exists():
        stop_pid(int(stack_pid.read_text()), timeout=60)  # it saves moto's state before it stops
        stack_pid.unlink(missing_ok=True)
    _save_orphaned_moto(config)
    # Only what this stack started has a pid file: with another YOLO host (YOLO_SERVICE_URL) there is no
    # yolo.pid, and a pid that no longer runs what it recorded is left alone.
    for name, command in COMMANDS.items():
        pid_file = config.run_dir / f"{name}.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            if _runs(pid, command):
                stop_pid(pid)
            pid_file.unlink(missing_ok=True)
    config.postgres().stop()


def _save_orphaned_moto(config: StackConfig) -> None:
    """moto outliving its stack (killed) still holds the objects: save them before it is stopped."""
    pid_file = config.run_dir / "moto.pid"
    if not (
        config.keep_state and pid_file.exists() and config.resources_file.exists() and alive(int(pid_file.read_text()))
    ):
        return
    try:
        resources = Provisioned(**json.loads(config.resources_file.read_text()))
        saved = state.save(config.moto_url, resources, config.moto_state_dir)
        say("stack", f"saved {saved['objects']} object(s) and {saved['messages']} queued message(s) from moto")
    except Exception as exc:
        say("stack", f"could not save S3/SQS state: {type(exc).__name__}: {exc}", "ERROR")


# What the stack keeps in its state dir; `reset` removes these and nothing else of a directory the user chose.
STATE_ENTRIES = ("pgdata", "pgdata.log", "moto", "moto.saving", "logs", "run", "auth")


def reset(config: StackConfig | None = None) -> list[Path]:
    """Stop the stack and delete ALL its state: database, S3 objects, queued messages, logs, signing key."""
    config = config or StackConfig()
    down(config)
    pg = config.postgres()
    removed = []
    for path in (pg.data_dir, pg.log_file, *(config.state_dir / name for name in STATE_ENTRIES)):
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed.append(path)
    for directory in (pg.data_dir.parent, config.state_dir):  # now empty, unless something else lives there
        with contextlib.suppress(OSError):
            directory.rmdir()
    return removed
