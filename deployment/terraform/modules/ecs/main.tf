# The three long-running roles (code location, webserver, daemon) as Fargate services in private
# subnets, and the run task definition the daemon's EcsRunLauncher starts once per run.

resource "aws_cloudwatch_log_group" "this" {
  name              = "/recon/${var.name}"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name = "${var.name}.internal"
  vpc  = var.vpc_id
}

resource "aws_service_discovery_service" "code_server" {
  name = "code-server"
  dns_config {
    namespace_id = aws_service_discovery_private_dns_namespace.this.id
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "recon ECS tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Dagster UI from the authenticating load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
}

resource "aws_vpc_security_group_ingress_rule" "code_server_from_tasks" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Code location gRPC from the webserver, the daemon and runs"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 4000
  to_port                      = 4000
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "Processor, ledger, Slack and AWS APIs over HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "tasks_internal" {
  security_group_id = aws_security_group.tasks.id
  description       = "PostgreSQL and the code location inside the VPC"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 4000
  to_port           = 5432
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  environment = [
    { name = "RECON_MODE", value = "live" }, # the real processors, ledger and bank: never the sandbox
    { name = "POSTGRES_HOST", value = var.database_host },
    { name = "POSTGRES_DB", value = var.database_name },
    { name = "POSTGRES_SSLMODE", value = "require" },
    { name = "DAGSTER_HOME", value = "/opt/dagster/home-prod" },
    { name = "DAGSTER_COMPUTE_LOG_BUCKET", value = var.reports_bucket_name },
    { name = "REPORTS_BUCKET", value = var.reports_bucket_name },
    { name = "BANK_STATEMENTS_BUCKET", value = var.statements_bucket.name },
    { name = "BANK_STATEMENTS_PREFIX", value = "statements" },
    { name = "AWS_REGION", value = var.region },
    { name = "ALERT_FROM_EMAIL", value = var.alert_from_email },
    { name = "OPERATIONS_EMAIL", value = var.operations_email },
    { name = "RECON_UI_URL", value = "https://${var.ui_domain_name}" },
    { name = "RECON_RUN_TASK_DEFINITION", value = "${var.name}-run" },
    { name = "RECON_CODE_SERVER_HOST", value = "code-server.${var.name}.internal" },
  ]
  secrets = concat(
    [for key, arn in var.credential_secrets : { name = key, valueFrom = arn }],
    [
      { name = "POSTGRES_USER", valueFrom = "${var.database_secret_arn}:username::" },
      { name = "POSTGRES_PASSWORD", valueFrom = "${var.database_secret_arn}:password::" },
    ],
  )
  roles = {
    code-server = {
      command   = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "recon_assets.definitions"]
      port      = 4000
      task_role = aws_iam_role.code.arn
      cpu       = 512
      memory    = 2048
    }
    webserver = {
      command   = ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "deployment/workspace.yaml"]
      port      = 3000
      task_role = aws_iam_role.webserver.arn
      cpu       = 512
      memory    = 2048
    }
    daemon = {
      command   = ["dagster-daemon", "run", "-w", "deployment/workspace.yaml"]
      port      = null
      task_role = aws_iam_role.daemon.arn
      cpu       = 256
      memory    = 1024
    }
    run = {
      command   = ["dagster", "api", "execute_run"] # replaced by the run launcher for each run
      port      = null
      task_role = aws_iam_role.run.arn
      cpu       = 1024
      memory    = 4096
    }
  }
}

resource "aws_ecs_task_definition" "role" {
  for_each                 = local.roles
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.task_role
  volume {
    name = "tmp"
  }
  volume {
    name = "dagster-storage"
  }
  container_definitions = jsonencode([{
    name                   = each.key
    image                  = var.image
    command                = each.value.command
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    environment            = concat(local.environment, [{ name = "RECON_ROLE", value = each.key }])
    secrets                = local.secrets
    portMappings           = each.value.port == null ? [] : [{ containerPort = each.value.port, protocol = "tcp" }]
    mountPoints = [
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      { sourceVolume = "dagster-storage", containerPath = "/opt/dagster/home-prod/storage", readOnly = false },
    ]
    healthCheck = each.key == "run" ? null : {
      command     = ["CMD", "recon", "health", "--role", each.key]
      interval    = 30
      timeout     = 10
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "role" {
  for_each               = { for key, role in local.roles : key => role if key != "run" }
  name                   = each.key
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.role[each.key].arn
  desired_count          = 1
  launch_type            = "FARGATE"
  enable_execute_command = false
  propagate_tags         = "SERVICE"
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  dynamic "load_balancer" {
    for_each = each.key == "webserver" ? [1] : []
    content {
      target_group_arn = aws_lb_target_group.webserver.arn
      container_name   = "webserver"
      container_port   = 3000
    }
  }
  dynamic "service_registries" {
    for_each = each.key == "code-server" ? [1] : []
    content {
      registry_arn = aws_service_discovery_service.code_server.arn
    }
  }
}
