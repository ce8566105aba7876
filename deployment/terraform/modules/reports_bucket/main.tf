# The reports bucket (reports/ and compute-logs/), and the bucket that receives its access log.

variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

data "aws_caller_identity" "current" {}

module "access_log" {
  source      = "../secure_bucket"
  bucket      = "${var.name}-reports-access-${data.aws_caller_identity.current.account_id}"
  kms_key_arn = var.kms_key_arn
}

module "reports" {
  source            = "../secure_bucket"
  bucket            = "${var.name}-reports-${data.aws_caller_identity.current.account_id}"
  kms_key_arn       = var.kms_key_arn
  access_log_bucket = module.access_log.name
}

output "bucket_name" {
  value = module.reports.name
}

output "bucket_arn" {
  value = module.reports.arn
}

output "access_log_bucket_name" {
  value = module.access_log.name
}
