output "ui_url" {
  description = "The Dagster UI, behind OIDC sign-in."
  value       = "https://${var.ui_domain_name}"
}

output "reports_bucket" {
  description = "Where the daily reports are stored."
  value       = module.reports_bucket.bucket_name
}

output "secret_arns" {
  description = "Secrets Manager entries to fill with the processors' credentials."
  value       = module.secrets.secret_arns
}

output "alarm_topic_arn" {
  description = "SNS topic of infrastructure alarms."
  value       = module.ecs.alarm_topic_arn
}
