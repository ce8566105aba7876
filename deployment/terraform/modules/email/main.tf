# The SES identity alert emails are sent from: a domain with DKIM, and a configuration set that
# requires TLS and tracks reputation.

variable "name" {
  type = string
}

variable "domain" {
  type = string
}

resource "aws_sesv2_configuration_set" "alerts" {
  configuration_set_name = "${var.name}-alerts"
  delivery_options {
    tls_policy = "REQUIRE"
  }
  reputation_options {
    reputation_metrics_enabled = true
  }
}

resource "aws_sesv2_email_identity" "this" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.alerts.configuration_set_name
}

output "identity_arn" {
  value = aws_sesv2_email_identity.this.arn
}

output "dkim_tokens" {
  description = "CNAME records to publish for DKIM."
  value       = aws_sesv2_email_identity.this.dkim_signing_attributes[0].tokens
}
