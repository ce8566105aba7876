variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "image" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "ui_domain_name" {
  type = string
}

variable "ui_certificate_arn" {
  type = string
}

variable "oidc" {
  type = object({
    issuer                 = string
    authorization_endpoint = string
    token_endpoint         = string
    user_info_endpoint     = string
    client_id              = string
    client_secret_arn      = string
  })
}

variable "database_host" {
  type = string
}

variable "database_name" {
  type = string
}

variable "database_secret_arn" {
  description = "RDS-managed secret holding {username, password}."
  type        = string
}

variable "database_instance_id" {
  type = string
}

variable "credential_secrets" {
  description = "Environment variable name => Secrets Manager ARN."
  type        = map(string)
}

variable "reports_bucket_name" {
  type = string
}

variable "reports_bucket_arn" {
  type = string
}

variable "statements_bucket" {
  description = "Where the bank's statement files arrive (read-only for recon), under statements/"
  type        = object({ name = string, arn = string })
}

variable "ses_identity_arn" {
  type = string
}

variable "alert_from_email" {
  type = string
}

variable "operations_email" {
  type = string
}

variable "alarm_email" {
  type = string
}

variable "max_concurrent_runs" {
  type = number
}
