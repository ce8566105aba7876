# Alarms to the operations team (deployment/README.md says what each one means and what to do).

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "alarms_email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "service_down" {
  for_each            = aws_ecs_service.role
  alarm_name          = "${var.name}-${each.key}-down"
  alarm_description   = "No ${each.key} task is running."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = { ClusterName = aws_ecs_cluster.this.name, ServiceName = each.value.name }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

locals {
  # one alarm per row; deployment/README.md says what each means and what to do
  metric_alarms = {
    database-cpu = {
      description = "The warehouse database has been above 80% CPU for 15 minutes."
      namespace   = "AWS/RDS", metric = "CPUUtilization", statistic = "Average", period = 300, periods = 3
      dimensions  = { DBInstanceIdentifier = var.database_instance_id }
      comparison  = "GreaterThanThreshold", threshold = 80, missing = "missing"
    }
    database-storage = {
      description = "Less than 10 GiB free on the warehouse database."
      namespace   = "AWS/RDS", metric = "FreeStorageSpace", statistic = "Minimum", period = 300, periods = 1
      dimensions  = { DBInstanceIdentifier = var.database_instance_id }
      comparison  = "LessThanThreshold", threshold = 10737418240, missing = "missing"
    }
    ui-5xx = {
      description = "The load balancer answered more than 10 server errors in 5 minutes."
      namespace   = "AWS/ApplicationELB", metric = "HTTPCode_ELB_5XX_Count", statistic = "Sum", period = 300
      periods     = 1, dimensions = { LoadBalancer = aws_lb.ui.arn_suffix }
      comparison  = "GreaterThanThreshold", threshold = 10, missing = "notBreaching"
    }
    run-failures = {
      description = "Dagster runs are failing (outage, credentials or a blocking data-quality check)."
      namespace   = "recon", metric = "RunFailures", statistic = "Sum", period = 3600, periods = 1
      dimensions  = {}
      comparison  = "GreaterThanOrEqualToThreshold", threshold = 3, missing = "notBreaching"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each            = local.metric_alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.periods
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_log_metric_filter" "run_failures" {
  name           = "${var.name}-run-failures"
  log_group_name = aws_cloudwatch_log_group.this.name
  pattern        = "\"RUN_FAILURE\""
  metric_transformation {
    name      = "RunFailures"
    namespace = "recon"
    value     = "1"
  }
}
