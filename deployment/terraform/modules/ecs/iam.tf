# Least privilege: one execution role (pull the image, write logs, read exactly the secrets the
# tasks reference) and one task role per role of the application, each listing only its actions
# on its own resources.

data "aws_caller_identity" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  secret_arns   = concat(values(var.credential_secrets), [var.database_secret_arn])
  log_group_arn = aws_cloudwatch_log_group.this.arn
  task_arns     = "arn:aws:ecs:${var.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"
  ecs_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { ArnLike = { "aws:SourceArn" = "arn:aws:ecs:${var.region}:${local.account_id}:*" } }
    }]
  })
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-log-read-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EcrAuthorization"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # the action has no resource-level permission
      },
      {
        Sid      = "PullImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = "arn:aws:ecr:${var.region}:${local.account_id}:repository/recon"
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.log_group_arn}:*"
      },
      {
        Sid      = "ReadReferencedSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = concat(local.secret_arns, [var.oidc.client_secret_arn])
      },
      {
        Sid      = "DecryptSecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn
      },
    ]
  })
}

# The code location serves definitions and evaluates schedules and sensors (alerts by SES and
# Slack); runs do the work (APIs, warehouse, reports on S3).
resource "aws_iam_role" "code" {
  name               = "${var.name}-code"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role" "run" {
  name               = "${var.name}-run"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role" "webserver" {
  name               = "${var.name}-webserver"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role" "daemon" {
  name               = "${var.name}-daemon"
  assume_role_policy = local.ecs_trust
}

locals {
  send_alert_email = {
    Sid      = "SendAlertEmail"
    Effect   = "Allow"
    Action   = ["ses:SendEmail"]
    Resource = [var.ses_identity_arn, "arn:aws:ses:${var.region}:${local.account_id}:configuration-set/${var.name}-alerts"]
  }
  use_key = {
    Sid      = "UseDeploymentKey"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = var.kms_key_arn
  }
  read_compute_logs = {
    Sid      = "ReadComputeLogs"
    Effect   = "Allow"
    Action   = ["s3:GetObject"]
    Resource = "${var.reports_bucket_arn}/compute-logs/*"
  }
  # the runs read statement lines, and the code server's sensor lists the new files: read-only, both
  read_statements = {
    Sid      = "ReadBankStatements"
    Effect   = "Allow"
    Action   = ["s3:GetObject"]
    Resource = "${var.statements_bucket.arn}/statements/*"
  }
  list_statements = {
    Sid       = "ListBankStatements"
    Effect    = "Allow"
    Action    = ["s3:ListBucket"]
    Resource  = var.statements_bucket.arn
    Condition = { StringLike = { "s3:prefix" = ["statements", "statements/*"] } }
  }
  list_compute_logs = {
    Sid       = "ListComputeLogs"
    Effect    = "Allow"
    Action    = ["s3:ListBucket"]
    Resource  = var.reports_bucket_arn
    Condition = { StringLike = { "s3:prefix" = ["compute-logs/*"] } }
  }
}

resource "aws_iam_role_policy" "code" {
  name = "alerts"
  role = aws_iam_role.code.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.send_alert_email, local.read_statements, local.list_statements, local.use_key]
  })
}

resource "aws_iam_role_policy" "run" {
  name = "reports-and-logs"
  role = aws_iam_role.run.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteReportsAndComputeLogs"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject"]
        Resource = ["${var.reports_bucket_arn}/reports/*", "${var.reports_bucket_arn}/compute-logs/*"]
      },
      local.list_compute_logs,
      local.read_statements,
      local.list_statements,
      local.use_key,
      local.send_alert_email,
    ]
  })
}

resource "aws_iam_role_policy" "webserver" {
  name = "read-compute-logs"
  role = aws_iam_role.webserver.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.read_compute_logs, local.list_compute_logs, local.use_key]
  })
}

resource "aws_iam_role_policy" "daemon" {
  name = "launch-runs"
  role = aws_iam_role.daemon.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RunTheRunTaskDefinition"
        Effect    = "Allow"
        Action    = ["ecs:RunTask"]
        Resource  = "arn:aws:ecs:${var.region}:${local.account_id}:task-definition/${var.name}-run:*"
        Condition = { ArnEquals = { "ecs:cluster" = aws_ecs_cluster.this.arn } }
      },
      {
        Sid      = "WatchAndStopRuns"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"]
        Resource = local.task_arns
      },
      {
        Sid      = "ReadTaskConfiguration"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition", "ec2:DescribeNetworkInterfaces"]
        Resource = "*" # read-only actions with no resource-level permission
      },
      {
        Sid      = "PassRunRoles"
        Effect   = "Allow"
        Action   = ["iam:PassRole"]
        Resource = [aws_iam_role.run.arn, aws_iam_role.execution.arn]
      },
      local.read_compute_logs,
      local.list_compute_logs,
      local.use_key,
    ]
  })
}
