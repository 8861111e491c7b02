# frozen_string_literal: true

# Fails its first execution with a transient error and succeeds on the second, through retry_on (what AgentJob
# does for a CLI that died or an API that was overloaded). Both executions leave a row.
class FlakyJob < ApplicationJob
  class TransientError < StandardError; end

  queue_as :default
  retry_on TransientError, wait: 1.second, attempts: 3

  def perform(tag)
    outcome = executions == 1 ? "raised" : "ok"
    JobRun.create!(job: self.class.name, tag: tag, attempt: executions, outcome: outcome, pid: Process.pid,
                   backend: self.class.queue_adapter_name.to_s)
    raise TransientError, "transient failure on attempt #{executions}" if outcome == "raised"
  end
end
