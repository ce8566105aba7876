output "tasks_security_group_id" {
  value = aws_security_group.tasks.id
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}
