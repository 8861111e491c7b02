# frozen_string_literal: true

# Per-message cost of the Rails job: the gem's AgentJob (claim, row + totals in one transaction, heartbeat, cancel
# check, broadcast) against seed 000's AgentJob written by hand (create! per message, update! on init and result,
# Turbo broadcast of the same partial), in the same app (spec/dummy on SQLite), on the same recorded messages.
#
#   bundle exec rake compile && ruby bench/rails_job.rb [MESSAGES_PER_RUN] [ROUNDS]
#
# Both jobs read the stream through RubyLLM::AgentSDK.query with the CLI's stream replaced by the recorded lines (no
# process, no network): what is measured is what each job does per message. Each round runs both jobs RUNS times,
# interleaved; a job's figure is its best round, per message, wall and CPU time of this process. The messages of
# one run: an init, then turns of an assistant line (text + a tool call) and its tool result (~300 bytes), the final
# answer and a result, as a real run writes them. Broadcasts go to the async ActionCable adapter (no subscribers).
# Nothing is asserted: the ratio is printed.
ENV["RAILS_ENV"] = "test"
require "bundler/setup"
require "benchmark"
require "tmpdir"
require "json"

MESSAGES = Integer(ARGV[0] || 200)
ROUNDS = Integer(ARGV[1] || 5)
RUNS = 10

ROOT = File.expand_path("..", __dir__)
ENV["AGENT_SDK_DB_DIR"] = Dir.mktmpdir("bench-rails-job-")
at_exit { FileUtils.rm_rf(ENV.fetch("AGENT_SDK_DB_DIR")) }
module AgentSDKSpec
  ROOT = File.expand_path("..", __dir__)
end
$LOAD_PATH.unshift(File.join(ROOT, "lib"))
require File.join(ROOT, "spec/support/rails/dummy_database")
require File.join(ROOT, "spec/dummy/config/environment")
AgentSDKSpec::DummyDatabase.prepare
ActionCable.server.config.cable = { "adapter" => "async" }
ActiveJob::Base.logger = Logger.new(nil)
Rails.logger.level = :warn

# The recorded run both jobs consume.
def recorded_lines(count)
  sid = "bench-session"
  lines = [JSON.generate(type: "system", subtype: "init", session_id: sid, model: "claude-sonnet-4-5", tools: %w[Read Glob])]
  turns = (count - 3) / 2
  turns.times do |i|
    lines << JSON.generate(type: "assistant", session_id: sid, uuid: "a-#{i}",
                           message: { id: "msg_#{i}", model: "claude-sonnet-4-5", role: "assistant",
                                      content: [{ type: "text", text: "Looking at file #{i} to see what it does." },
                                                { type: "tool_use", id: "toolu_#{i}", name: "Read", input: { file_path: "app/models/m#{i}.rb" } }],
                                      usage: { input_tokens: 1200 + i, output_tokens: 40, cache_read_input_tokens: 900 } })
    lines << JSON.generate(type: "user", session_id: sid, uuid: "u-#{i}",
                           message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_#{i}",
                                                                content: "class M#{i} < ApplicationRecord\n#{'  # a line of code' * 15}\nend" }] })
  end
  lines << JSON.generate(type: "assistant", session_id: sid, uuid: "a-final",
                         message: { id: "msg_final", model: "claude-sonnet-4-5", role: "assistant",
                                    content: [{ type: "text", text: "The models are small and each holds one table." }],
                                    usage: { input_tokens: 3000, output_tokens: 80 } })
  lines << JSON.generate(type: "result", subtype: "success", is_error: false, session_id: sid, num_turns: turns + 1,
                         result: "The models are small and each holds one table.", total_cost_usd: 0.0421,
                         duration_ms: 12_000, usage: { input_tokens: 90_000, output_tokens: 2_000 })
  lines
end

LINES = recorded_lines(MESSAGES).freeze

# The CLI's stream, replaced by the recorded lines for both jobs (this script only: the gem's own test helpers do
# this for apps).
module RecordedStream
  def stream(_prompt)
    LINES.each { |line| yield line }
  end
end
RubyLLM::AgentSDK::CLI.prepend(RecordedStream)

# Seed 000's AgentJob, as its readers copy it (sidekiq_options left out: this app runs no Sidekiq here).
class SeedAgentJob < ApplicationJob
  queue_as :agents

  def perform(session_id, prompt, resume: false)
    session = AgentSession.find(session_id)
    session.update!(status: :running)
    options = build_options(session, resume)
    RubyLLM::AgentSDK.query(prompt, **options) { |message| process_message(session, message) }
    session.update!(status: :completed)
  rescue StandardError => e
    session.update!(status: :failed, metadata: session.metadata.merge(error: e.message))
    raise
  end

  private

  def build_options(session, resume)
    opts = { model: session.model_id || "claude-sonnet-4-20250514", cwd: Rails.root.to_s, allowed_tools: %w[Read Glob Grep],
             permission_mode: :bypass_permissions, max_turns: 20, max_budget_usd: 1.0 }
    opts[:resume] = session.claude_session_id if resume && session.claude_session_id
    opts
  end

  def process_message(session, message)
    session.agent_messages.create!(message_type: message.type.to_s, subtype: message.subtype&.to_s, content: message.content,
                                   uuid: message.uuid, tool_calls: message.tool_calls, metadata: extract_metadata(message),
                                   position: @position = (@position || 0) + 1) # the dummy's schema needs one
    session.update!(claude_session_id: message.session_id) if message.init?
    if message.result?
      session.update!(total_cost_usd: message.total_cost_usd, num_turns: message.num_turns, result: message.content)
    end
    broadcast_message(session, message)
  end

  def extract_metadata(message)
    { model: message.respond_to?(:model) ? message.model : nil, usage: message.respond_to?(:usage) ? message.usage : nil }.compact
  end

  def broadcast_message(session, message)
    Turbo::StreamsChannel.broadcast_append_to(session, target: "agent_messages", partial: "agent_sessions/message",
                                                       locals: { message: message, session: session })
  end
end

RubyLLM::AgentSDK.config.transport = :cli
RubyLLM::AgentSDK.config.heartbeat_interval = 10

def run_job(job_class)
  session = AgentSession.create!(prompt: "Summarise the models")
  cpu0 = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
  wall0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  job_class.perform_now(session.id, session.prompt)
  [Process.clock_gettime(Process::CLOCK_MONOTONIC) - wall0, Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - cpu0,
   session.reload]
end

jobs = { "seed 000 AgentJob (by hand)" => SeedAgentJob, "agent_sdk AgentJob" => AgentJob }
jobs.each_value { |job| 2.times { run_job(job) } } # warm up: partial compiled, statements prepared
best = jobs.transform_values { { wall: Float::INFINITY, cpu: Float::INFINITY } }
ROUNDS.times do
  jobs.each do |name, job|
    wall = cpu = 0.0
    RUNS.times do
      w, c, session = run_job(job)
      raise "#{name}: the session ended #{session.status}" unless session.completed?
      raise "#{name}: #{session.agent_messages.count} rows for #{LINES.size} messages" if session.agent_messages.count < LINES.size

      wall += w
      cpu += c
    end
    best[name][:wall] = [best[name][:wall], wall].min
    best[name][:cpu] = [best[name][:cpu], cpu].min
  end
end

per = ->(seconds) { seconds / RUNS / LINES.size * 1e6 }
puts "Ruby #{RUBY_VERSION}, Rails #{Rails.version}, #{ActiveRecord::Base.connection.adapter_name}; " \
     "#{LINES.size} messages a run, #{RUNS} runs a round, best of #{ROUNDS} rounds"
jobs.each_key do |name|
  printf("%-30s %8.1f µs/message wall  %8.1f µs/message CPU\n", name, per.call(best[name][:wall]), per.call(best[name][:cpu]))
end
seed, gem = best.values
printf("ratio agent_sdk / seed: %.2fx wall, %.2fx CPU (the issue's bound: 1.2x)\n", gem[:wall] / seed[:wall], gem[:cpu] / seed[:cpu])
