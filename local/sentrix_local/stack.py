"""The whole local stack in one object: what `make dev` runs and what the e2e tests start."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sentrix.tokens import write_key_file
from sentrix_local.gateway import Gateway, serve
from sentrix_local.invoke import LocalFunction
from sentrix_local.poller import QueuePoller
from sentrix_local.postgres import LocalPostgres
from sentrix_local.processes import ManagedProcess, python_module, stop_pid, wait_http
from sentrix_local.provision import aws_client, provision
from sentrix_local.template import REPO_ROOT, stack_spec


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

    def postgres(self) -> LocalPostgres:
        return LocalPostgres(self.state_dir / "pgdata", self.pg_port)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def yolo_url(self) -> str:
        return f"http://127.0.0.1:{self.yolo_port}"

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

    def start(self) -> dict[str, str]:
        """Start every service, migrate, provision from the template, then serve; returns the URLs."""
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        (config.run_dir / "stack.pid").write_text(str(os.getpid()))
        self.pg.start()
        self.pg.ensure_database(config.database)
        from sentrix.db import migrate

        migrate.upgrade(self.pg.url(config.database))
        self.moto.start()
        wait_http(f"{config.moto_url}/moto-api/", process=self.moto.process)
        self.yolo.start()
        wait_http(f"{config.yolo_url}/health", process=self.yolo.process)
        resources = provision(config.moto_url, prefix=config.resource_prefix)
        spec = stack_spec()
        detect_queue = next(q for q in spec.queues.values() if q.consumer)
        os.environ.update(
            {
                "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
                # The local stack explains its 500s (exception and traceback); deployed stages never do.
                "SENTRIX_DEBUG_ERRORS": os.environ.get("SENTRIX_DEBUG_ERRORS", "1"),
                "DATABASE_URL": self.pg.url(config.database),
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
                # across restarts so issued tokens stay valid (docs/auth.md).
                "AUTH_SIGNING_KEY_FILE": str(write_key_file(config.state_dir / "auth" / "signing-key.pem")),
            }
        )
        os.environ.pop("AUTH_SIGNING_KEY_SECRET_ARN", None)
        functions = {name: LocalFunction(fn) for name, fn in spec.functions.items()}
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
            "yolo stand-in": config.yolo_url,
            "postgres": self.pg.url(config.database),
            "bucket": resources.bucket(),
            "detect queue": resources.queue_urls[detect_queue.logical_id],
        }

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        if self.gateway_server is not None:
            self.gateway_server.shutdown()
            self.gateway_server.server_close()
        self.yolo.stop()
        self.moto.stop()
        self.pg.stop()
        (self.config.run_dir / "stack.pid").unlink(missing_ok=True)

    def run_forever(self) -> None:
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        try:
            urls = self.start()
            print("\nSentrix local stack is up:", flush=True)
            for name, url in urls.items():
                print(f"  {name:16} {url}", flush=True)
            print("Ctrl-C (or `make down`) stops everything.\n", flush=True)
            stopped.wait()
        finally:
            print("stopping the local stack…", flush=True)
            self.stop()


def down(config: StackConfig | None = None) -> None:
    """Stop a stack started elsewhere, by the pids it recorded (nothing broader)."""
    config = config or StackConfig()
    stack_pid = config.run_dir / "stack.pid"
    if stack_pid.exists():
        stop_pid(int(stack_pid.read_text()), timeout=30)
        stack_pid.unlink(missing_ok=True)
    for name in ("yolo", "moto"):
        pid_file = config.run_dir / f"{name}.pid"
        if pid_file.exists():
            stop_pid(int(pid_file.read_text()))
            pid_file.unlink(missing_ok=True)
    config.postgres().stop()
