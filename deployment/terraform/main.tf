# recon on AWS: a private network, RDS PostgreSQL for the warehouse and Dagster's storage, an S3
# bucket for reports, SES for alert email, Secrets Manager for every credential, and ECS Fargate
# services for the code location, the webserver (only behind an authenticating load balancer) and
# the daemon, which launches each run as its own Fargate task (EcsRunLauncher).

locals {
  name = "recon-${var.environment}"
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "recon" {
  description             = "${local.name}: database, reports, secrets, logs and alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncrypt"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "recon" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.recon.key_id
}

module "network" {
  source      = "./modules/network"
  name        = local.name
  cidr_block  = var.vpc_cidr
  zone_ids    = var.availability_zone_ids
  kms_key_arn = aws_kms_key.recon.arn
}

module "database" {
  source             = "./modules/database"
  name               = local.name
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  instance_class     = var.db_instance_class
  kms_key_arn        = aws_kms_key.recon.arn
  client_security_id = module.ecs.tasks_security_group_id
}

module "reports_bucket" {
  source      = "./modules/reports_bucket"
  name        = local.name
  kms_key_arn = aws_kms_key.recon.arn
}

# The bank delivers its statement files (BAI2, camt.053, MT940) here, under statements/ (over SFTP through
# AWS Transfer Family, or its own upload); recon only reads them.
module "statements_bucket" {
  source            = "./modules/secure_bucket"
  bucket            = "${local.name}-bank-statements-${data.aws_caller_identity.current.account_id}"
  kms_key_arn       = aws_kms_key.recon.arn
  access_log_bucket = module.reports_bucket.access_log_bucket_name
}

module "email" {
  source = "./modules/email"
  name   = local.name
  domain = var.ses_domain
}

module "secrets" {
  source      = "./modules/secrets"
  name        = local.name
  kms_key_arn = aws_kms_key.recon.arn
}

module "ecs" {
  source               = "./modules/ecs"
  name                 = local.name
  region               = var.region
  vpc_id               = module.network.vpc_id
  private_subnet_ids   = module.network.private_subnet_ids
  public_subnet_ids    = module.network.public_subnet_ids
  image                = var.image
  kms_key_arn          = aws_kms_key.recon.arn
  ui_domain_name       = var.ui_domain_name
  ui_certificate_arn   = var.ui_certificate_arn
  oidc                 = var.oidc
  database_host        = module.database.address
  database_name        = module.database.database_name
  database_secret_arn  = module.database.master_secret_arn
  credential_secrets   = module.secrets.secret_arns
  reports_bucket_name  = module.reports_bucket.bucket_name
  reports_bucket_arn   = module.reports_bucket.bucket_arn
  statements_bucket    = { name = module.statements_bucket.name, arn = module.statements_bucket.arn }
  ses_identity_arn     = module.email.identity_arn
  alert_from_email     = var.alert_from_email
  operations_email     = var.operations_email
  alarm_email          = var.alarm_email
  database_instance_id = module.database.instance_id
  max_concurrent_runs  = var.max_concurrent_runs
}
