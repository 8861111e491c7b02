# frozen_string_literal: true

# Writes what config.agent_sdk says in the process that runs it: the worker gets the spec's settings.
class ConfigJob < ApplicationJob
  queue_as :agents

  def perform(tag)
    config = RubyLLM::AgentSDK.config
    JobRun.create!(job: self.class.name, tag: tag, attempt: executions, pid: Process.pid,
                   backend: self.class.queue_adapter_name.to_s,
                   outcome: [config.transport.inspect, config.model, config.query_options.to_h["base_url"]].join(" "))
  end
end
