variable "region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Deployment name, used in resource names (e.g. prod, staging)."
  type        = string
  default     = "prod"
}

variable "availability_zone_ids" {
  description = "Two availability zone ids in the region (ids, not names, are the same in every account)."
  type        = list(string)
  default     = ["use1-az1", "use1-az2"]
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "image" {
  description = "The recon image (deployment/Dockerfile) pushed to ECR, pinned by digest."
  type        = string
}

variable "ui_domain_name" {
  description = "Public host name of the Dagster UI (behind the authenticating load balancer)."
  type        = string
}

variable "ui_certificate_arn" {
  description = "ACM certificate for ui_domain_name."
  type        = string
}

variable "oidc" {
  description = "The identity provider that guards the Dagster UI (OIDC: Okta, Azure AD, Google...)."
  type = object({
    issuer                 = string
    authorization_endpoint = string
    token_endpoint         = string
    user_info_endpoint     = string
    client_id              = string
    client_secret_arn      = string
  })
}

variable "ses_domain" {
  description = "Domain verified in SES that alert emails are sent from."
  type        = string
}

variable "alert_from_email" {
  description = "Sender address of alert emails (in ses_domain)."
  type        = string
}

variable "operations_email" {
  description = "Comma-separated recipients of alert emails."
  type        = string
}

variable "alarm_email" {
  description = "Who receives infrastructure alarms (SNS email subscription)."
  type        = string
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "max_concurrent_runs" {
  description = "Upper bound of run tasks at once (also the queued run coordinator's limit)."
  type        = number
  default     = 20
}
