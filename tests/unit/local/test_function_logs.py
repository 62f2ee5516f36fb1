"""The local stack's logging (sentrix_local.logs): two functions in one process, at the same time, each logging
and publishing metrics as itself. Run in a child process: installing swaps the shared logger's handler and
sys.stdout, which must not leak into the rest of the test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT

SCENARIO = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from sentrix.observability import logger, metrics
    from sentrix_local.logs import install, invocation

    install(Path(sys.argv[1]))
    detect_keyed, upload_logged = threading.Event(), threading.Event()

    class Context:
        def __init__(self, name):
            self.function_name = name
            self.memory_limit_in_mb = 1024
            self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name
            self.aws_request_id = "req-" + name

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def detect(event, context):
        logger.append_keys(analysis_id="a-1", attempt=1)
        metrics.add_metric(name="AnalysesCompleted", unit="Count", value=1)
        detect_keyed.set()
        upload_logged.wait(10)
        logger.info("analysis completed")

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def upload(event, context):
        detect_keyed.wait(10)
        logger.set_correlation_id("get-request-7")
        logger.info("multipart upload stored")
        metrics.add_metric(name="MultipartUploadsStored", unit="Count", value=1)
        upload_logged.set()

    def run(name, service, handler):
        with invocation(name, service, "Sentrix"):
            handler({}, Context(name))

    threads = [
        threading.Thread(target=run, args=("DetectFunction", "detect", detect)),
        threading.Thread(target=run, args=("UploadFunction", "upload", upload)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    with invocation("UploadFunction", "upload", "Sentrix"):
        upload({}, Context("UploadFunction"))
    """
)


def run_scenario(tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers/shared"), str(REPO_ROOT / "local")]),
    }
    env.pop("POWERTOOLS_SERVICE_NAME", None)
    return subprocess.run(
        [sys.executable, "-c", SCENARIO, str(tmp_path / "logs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def records(tmp_path: Path, function: str) -> list[dict]:
    lines = (tmp_path / "logs" / f"{function}.log").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_concurrent_functions_log_under_their_own_service_without_each_others_keys(tmp_path):
    run_scenario(tmp_path)

    detect = [r for r in records(tmp_path, "DetectFunction") if "_aws" not in r]
    upload = [r for r in records(tmp_path, "UploadFunction") if "_aws" not in r]
    assert [(r["message"], r["service"], r["attempt"], r.get("correlation_id")) for r in detect] == [
        ("analysis completed", "detect", 1, None)
    ]
    assert [(r["message"], r["service"], "attempt" in r, r.get("correlation_id")) for r in upload] == [
        ("multipart upload stored", "upload", False, "get-request-7"),
        ("multipart upload stored", "upload", False, "get-request-7"),
    ]


def test_each_function_publishes_only_its_own_metrics_under_its_service(tmp_path):
    run_scenario(tmp_path)

    def published(function: str) -> list[tuple[str, list, list]]:
        documents = [r for r in records(tmp_path, function) if "_aws" in r]
        return [
            (
                d["service"],
                [m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]],
                [d["_aws"]["CloudWatchMetrics"][0]["Namespace"]],
            )
            for d in documents
        ]

    assert published("DetectFunction") == [("detect", ["AnalysesCompleted"], ["Sentrix"])]
    assert published("UploadFunction") == [("upload", ["MultipartUploadsStored"], ["Sentrix"])] * 2


def test_the_output_is_one_readable_line_per_record(tmp_path):
    output = run_scenario(tmp_path).stdout.splitlines()

    detect = [ln for ln in output if "analysis completed" in ln]
    assert len(detect) == 1
    _time, function, level, *rest = detect[0].split()
    assert (function, level) == ("DetectFunction", "INFO")
    assert "attempt=1" in rest and "analysis_id=a-1" in rest
    assert not [ln for ln in output if ln.lstrip().startswith("{")]
