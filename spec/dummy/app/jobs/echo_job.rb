# frozen_string_literal: true

# Proves a backend runs a job: the row names the process and the adapter that ran it.
class EchoJob < ApplicationJob
  queue_as :default

  def perform(tag)
    JobRun.create!(job: self.class.name, tag: tag, attempt: executions, outcome: "ok", pid: Process.pid,
                   backend: self.class.queue_adapter_name.to_s)
  end
end
