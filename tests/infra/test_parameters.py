"""Parameters that refuse a dangerous value before CloudFormation touches anything (issue 15, points 6 and 9)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.infra.template_model import Template

# CloudFormation matches AllowedPattern with Java's regex engine against the whole value; the template's patterns
# keep to the subset Java and Python read alike, so re.fullmatch tells what CloudFormation will do.
ACCEPTED_YOLO_URLS = [
    "https://yolo.example.org",
    "https://yolo.example.org/",
    "https://yolo.example.org:8443/v2",
    "https://10.0.3.7",
    "http://10.0.3.7:8000",
    "http://10.255.255.255/detect",
    "http://172.16.0.10:8000",
    "http://172.31.200.1",
    "http://192.168.1.20:8080/api",
    "http://internal-yolo-1234567890.us-east-1.elb.amazonaws.com",
    "http://internal-yolo-1234567890.us-east-1.elb.amazonaws.com:8000/v1",
    "http://yolo.sentrix.internal:8000",
    "http://ip-10-0-1-23.ec2.internal",
    "http://yolo.sentrix.local",
]
REFUSED_YOLO_URLS = [
    "",
    "yolo.example.org",
    "https://",
    "https://yolo example.org",
    "ftp://yolo.example.org",
    "http://yolo.example.org",  # plain HTTP over the internet
    "http://52.1.2.3:8000",  # a public address
    "http://172.32.0.1",  # just outside 172.16.0.0/12
    "http://172.15.0.1",
    "http://192.169.1.1",
    "http://11.0.0.1",
    "http://10.0.0.1.attacker.example",  # a private-looking prefix of a public name
    "http://10.0.0.1@attacker.example",
    "http://yolo-123.us-east-1.elb.amazonaws.com",  # an internet-facing load balancer
    "http://internal-yolo.elb.amazonaws.com.attacker.example",
    "http://yolo.internal.attacker.example",
    "http://yolo.local.attacker.example",
    "http://localhost:8000",
]


@pytest.fixture(scope="module")
def yolo_pattern(template: Template) -> str:
    return template["Parameters"]["YoloServiceUrl"]["AllowedPattern"]


@pytest.mark.parametrize("url", ACCEPTED_YOLO_URLS)
def test_yolo_url_accepts_https_anywhere_and_http_inside_the_vpc(yolo_pattern: str, url: str) -> None:
    assert re.fullmatch(yolo_pattern, url)


@pytest.mark.parametrize("url", REFUSED_YOLO_URLS)
def test_yolo_url_refuses_plain_http_over_the_internet(yolo_pattern: str, url: str) -> None:
    assert re.fullmatch(yolo_pattern, url) is None


def test_yolo_url_pattern_stays_in_the_java_python_common_subset(yolo_pattern: str) -> None:
    # Constructs one engine reads differently or not at all: named groups, \Z/\A, possessive and atomic groups.
    assert not re.search(r"\(\?P|\(\?<|\\[ZAz]|[+*?}]\+|\(\?>", yolo_pattern)


def test_prod_needs_an_alarm_address(template: Template) -> None:
    # Given the template's Rules / Then one applies to Stage=prod and asserts AlarmEmail is not empty
    rule = template["Rules"]["ProdAlarmsReachSomeone"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert [a["Assert"] for a in rule["Assertions"]] == [{"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}]


@pytest.mark.parametrize(
    ("address", "accepted"),
    [("", True), ("ops@example.org", True), ("ops@example", False), ("a@b.org,c@d.org", False), ("ops", False)],
)
def test_alarm_email_is_one_address_or_none(template: Template, address: str, accepted: bool) -> None:
    assert bool(re.fullmatch(template["Parameters"]["AlarmEmail"]["AllowedPattern"], address)) is accepted


def test_database_name_is_no_parameter(template: Template, repo_root: Path) -> None:
    # A changed DBName replaces the instance: no parameter (nor samconfig value) may name the database.
    samconfig = (repo_root / "samconfig.toml").read_text(encoding="utf-8")
    assert "DatabaseName" not in template["Parameters"]
    assert "DatabaseName" not in samconfig
    assert template["Resources"]["Database"]["Properties"]["DBName"] == "sentrix"


def test_prod_runs_behind_waf(repo_root: Path) -> None:
    config = tomllib.loads((repo_root / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = dict(i.split("=", 1) for i in config["prod"]["deploy"]["parameters"]["parameter_overrides"].split())
    assert overrides["WafEnabled"] == "true"


JAVA_MATCHER = """
import java.util.regex.Pattern;
import java.io.*;
public class Match {
    public static void main(String[] args) throws IOException {
        Pattern pattern = Pattern.compile(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        for (String line; (line = in.readLine()) != null; ) {
            System.out.println(pattern.matcher(line).matches() ? "1" : "0");
        }
    }
}
"""


def test_java_reads_the_yolo_pattern_as_python_does(yolo_pattern: str, tmp_path: Path) -> None:
    # CloudFormation checks AllowedPattern with java.util.regex (whole-value match): the same table, in Java.
    java = shutil.which("java")
    if java is None:
        pytest.skip("no Java runtime to compare with")
    source = tmp_path / "Match.java"
    source.write_text(JAVA_MATCHER, encoding="utf-8")
    urls = ACCEPTED_YOLO_URLS + REFUSED_YOLO_URLS
    result = subprocess.run(
        [java, str(source), yolo_pattern],
        input="\n".join(urls) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    verdicts = dict(zip(urls, result.stdout.split(), strict=True))
    assert verdicts == {url: "1" if url in ACCEPTED_YOLO_URLS else "0" for url in urls}
