# The only way in: HTTPS on an internet-facing load balancer that signs every request in through the
# organisation's identity provider (OIDC) before forwarding to the Dagster UI, which has no login of
# its own. A WAF with AWS's managed rules sits in front of it.

data "aws_secretsmanager_secret_version" "oidc_client_secret" {
  secret_id = var.oidc.client_secret_arn
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "HTTPS into the authenticating load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from users (authenticated by OIDC at the load balancer)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the Dagster webserver"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
}

resource "aws_vpc_security_group_egress_rule" "alb_to_idp" {
  security_group_id = aws_security_group.alb.id
  description       = "To the identity provider's token and user-info endpoints"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_lb" "ui" {
  # checkov:skip=CKV_AWS_91:Every request is authenticated by the identity provider, whose sign-in log records who used the UI; ALB access logs need an SSE-S3 bucket outside the deployment's KMS key and add no identity.
  # checkov:skip=CKV2_AWS_20:No HTTP listener exists at all: port 80 is closed, so there is nothing to redirect.
  name                       = var.name
  internal                   = false
  load_balancer_type         = "application"
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true
}

resource "aws_lb_target_group" "webserver" {
  # checkov:skip=CKV_AWS_378:The webserver speaks plain HTTP on port 3000 inside private subnets, reachable only from the load balancer's security group; TLS ends at the load balancer.
  name        = "${var.name}-ui"
  port        = 3000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path    = "/server_info"
    matcher = "200"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.ui.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.ui_certificate_arn

  default_action {
    type  = "authenticate-oidc"
    order = 1
    authenticate_oidc {
      issuer                     = var.oidc.issuer
      authorization_endpoint     = var.oidc.authorization_endpoint
      token_endpoint             = var.oidc.token_endpoint
      user_info_endpoint         = var.oidc.user_info_endpoint
      client_id                  = var.oidc.client_id
      client_secret              = data.aws_secretsmanager_secret_version.oidc_client_secret.secret_string
      on_unauthenticated_request = "authenticate"
      session_timeout            = 28800
    }
  }

  default_action {
    type             = "forward"
    order            = 2
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}

resource "aws_wafv2_web_acl" "ui" {
  name  = "${var.name}-ui"
  scope = "REGIONAL"
  default_action {
    allow {}
  }
  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "AWSManagedRulesCommonRuleSet"
      sampled_requests_enabled   = true
    }
  }
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }
  rule {
    name     = "AWSManagedRulesAnonymousIpList"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesAnonymousIpList"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "AWSManagedRulesAnonymousIpList"
      sampled_requests_enabled   = true
    }
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-ui"
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "ui" {
  resource_arn = aws_lb.ui.arn
  web_acl_arn  = aws_wafv2_web_acl.ui.arn
}

resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "ui" {
  resource_arn            = aws_wafv2_web_acl.ui.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}
