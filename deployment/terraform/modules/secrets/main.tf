# One Secrets Manager entry per credential, encrypted with the deployment's key. Terraform creates
# the entries, never their values: an operator puts each value (deployment/README.md, "Rotating
# secrets"), and task definitions reference them by ARN.

variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

locals {
  credentials = toset([
    "STRIPE_API_KEY",
    "PAYPAL_CLIENT_ID",
    "PAYPAL_CLIENT_SECRET",
    "SQUARE_ACCESS_TOKEN",
    "LEDGER_API_TOKEN",
    "SLACK_WEBHOOK_URL",
  ])
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:These are third-party API credentials issued by Stripe, PayPal, Square, the ledger team and Slack; AWS cannot rotate them. They are rotated by the runbook in deployment/README.md.
  for_each                = local.credentials
  name                    = "${var.name}/${each.value}"
  description             = "recon: ${each.value}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

output "secret_arns" {
  value = { for key, secret in aws_secretsmanager_secret.this : key => secret.arn }
}
