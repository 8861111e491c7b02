# frozen_string_literal: true

# The tools of bench/crash_property.rb's 5-turn agent, loaded in the Solid Queue worker (AGENT_SDK_WORKER_REQUIRE,
# read by spec/dummy/config/initializers/agent_sdk.rb) and in the bench process. SideEffect counts each execution in
# a table of its own (job_runs, job "side_effect", tag the run), after a pause, so that kill -9 also lands inside it.
module CrashProperty
  class Look < RubyLLM::AgentSDK::Tool
    tool_name "look"
    description "Looks at one step of the task"
    param :run, :string, required: true
    param :step, :integer, required: true

    def call(run:, step:)
      sleep(rand * 0.2)
      { run: run, step: step, seen: true }
    end
  end

  class SideEffect < RubyLLM::AgentSDK::Tool
    tool_name "side_effect"
    description "Does something that must happen once (a refund)"
    param :run, :string, required: true

    def call(run:)
      sleep(rand * 0.3)
      JobRun.create!(job: "side_effect", tag: run, attempt: 1, outcome: "executed", backend: "solid_queue", pid: Process.pid)
      { run: run, refunded: true }
    end
  end
end

RubyLLM::AgentSDK.config.tools = [CrashProperty::Look, CrashProperty::SideEffect] if ENV["AGENT_SDK_WORKER_REQUIRE"]
