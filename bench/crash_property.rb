# frozen_string_literal: true

# Issue 9's crash property: RUNS runs of a 5-turn agent (transport :api against a FakeServer in this process) whose
# third turn calls a side-effect tool, in a real Solid Queue worker process (spec/dummy's bin/jobs, the specs'
# harness) on PostgreSQL. Runs go in batches of BATCH (the worker's threads); during each batch the worker process is
# kill -9ed at a random moment (a model call, a tool, a write), its supervisor starts a new one, and RecoveryJob
# (here, every second, recovery_after 1.5 s) takes the stale sessions over and the new worker resumes them. A run
# killed again while it is being resumed is recovered again, up to max_recoveries. Printed: how each run ended, how
# often its side effect ran (counted by the tool in its own table), and the totals.
#
#   bundle exec rake compile && bundle exec ruby bench/crash_property.rb [RUNS] [BATCH]      # default 100 3
#
# AGENT_SDK_DB=sqlite runs it on SQLite instead. Exits 1 when a run was lost (not completed, and not failed with a
# reason) or a side effect ran twice.
#
# The side-effect tool is a side_effect! (recorded in agent_tool_executions by AgentJob), and the scripted model asks
# for it again whenever a resumed transcript shows its call cut off, as a real model would: a call that finished is
# answered from its record, one that started and never finished as of unknown outcome — never run a second time.
# "never ran" counts runs killed inside the tool before its write, whose outcome the model was told is unknown.
#
# Measured (2 shared cores, PostgreSQL, Solid Queue 1.4, 2026-12-02): 100 runs, 34 kills, 189 s; at the kill 96
# running, 3 completed, 1 pending; ended 100 completed (95 recovered at least once), 0 lost, 0 side effects twice, 13
# whose side effect never ran. CRASH_PROPERTY_NO_RECORD=1 (not a side_effect!): 30 runs, 2 side effects twice.
ENV["RAILS_ENV"] = "test"
ENV["AGENT_SDK_DB"] ||= "postgresql"
require "bundler/setup"
require "json"

RUNS = Integer(ARGV[0] || 100)
BATCH = Integer(ARGV[1] || 3)
ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift(File.join(ROOT, "lib"))
require "agent_sdk"
require File.join(ROOT, "spec/support/servers")
require File.join(ROOT, "spec/support/rails/dummy_database")
AgentSDKSpec::DummyDatabase.configure_env
require File.join(ROOT, "spec/dummy/config/environment")
AgentSDKSpec::DummyDatabase.prepare
require File.join(ROOT, "spec/support/job_backends")
require File.join(__dir__, "support/crash_property_tools")
ActiveJob::Base.logger = Logger.new(nil)
ActiveJob::Base.queue_adapter = :solid_queue
Rails.logger.level = :warn
RubyLLM::AgentSDK.config.recovery_after = 1.5
RubyLLM::AgentSDK.config.logger = Logger.new(nil)

# The agent: its turn comes from the request (assistant messages so far + 1), so a resumed run asks for the turn
# after the last one its transcript has. Turns 1, 2 and 4 look, 3 calls the side effect, 5 answers.
# A resumed run whose side-effect call was cut off (closed as "The run ended before this tool returned.") asks for it
# again, as a real model would: only the execution record keeps it from running twice.
def side_effect_cut_off?(messages)
  ids = messages.select { |m| m["role"] == "assistant" && m["content"].is_a?(Array) }
                .flat_map { |m| m["content"].select { |b| b["type"] == "tool_use" && b["name"] == "side_effect" } }
                .map { |b| b["id"] }
  trailing = messages.reverse.take_while { |m| m["role"] == "user" }.flat_map { |m| Array(m["content"]) }
  trailing.any? do |b|
    b.is_a?(Hash) && b["type"] == "tool_result" && ids.include?(b["tool_use_id"]) && b["content"].to_s.include?("ended before")
  end
end

TURN = lambda do |req|
  messages = req.body["messages"]
  run = messages.first["content"].to_s[/run (\w+)/, 1]
  turn = messages.count { |m| m["role"] == "assistant" } + 1
  delay = rand * 0.4
  return { tool_use: { name: "side_effect", input: { "run" => run } }, delay: delay } if side_effect_cut_off?(messages)

  case turn
  when 3 then { tool_use: { name: "side_effect", input: { "run" => run } }, delay: delay }
  when 1..4 then { tool_use: { name: "look", input: { "run" => run, "step" => turn } }, delay: delay }
  else { text: "run #{run} is done", delay: delay }
  end
end
server = RubyLLM::AgentSDK::Testing::FakeServer.new(default: TURN).start

env = { "AGENT_SDK_WORKER_REQUIRE" => File.join(__dir__, "support/crash_property_tools.rb"),
        "AGENT_SDK_CONFIG_JSON" => JSON.generate(
          transport: :api, model: "claude-sonnet-4-5", heartbeat_interval: 0.5,
          query_options: { base_url: server.base_url, api_key: "sk-ant-api03-crash-property-not-a-key", max_retries: 0 }
        ) }
AgentSDKSpec::DummyDatabase.truncate
worker = AgentSDKSpec::JobBackends.solid_queue(env).start(timeout: 120)

def worker_pids(supervisor_pid)
  supervisor = SolidQueue::Process.where("kind LIKE 'Supervisor%'").find_by(pid: supervisor_pid)
  supervisor ? SolidQueue::Process.where(supervisor_id: supervisor.id, kind: "Worker").pluck(:pid) : []
end

def alive?(pid) = AgentSDKSpec::Processes.alive?(pid)

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
kills = 0
ids = []
stuck = []
at_kill = {}
RUNS.times.each_slice(BATCH) do |batch|
  sessions = batch.map { |i| AgentSession.create!(prompt: "Do the task of run r#{i} in five steps") }
  ids.concat(sessions.map(&:id))
  sessions.each(&:run!)
  sleep(0.1 + (rand * 1.6)) # somewhere in the runs (~1.5 s each): a model call, a tool, between two writes
  at_kill.merge!(AgentSession.where(id: sessions.map(&:id)).to_h do |s|
    [s.id, "#{s.status}/#{s.agent_messages.count} rows"]
  end)
  pids = (AgentSession.where(id: sessions.map(&:id)).where.not(claimed_by: nil).pluck(:claimed_by)
                      .map { |t| Integer(t.split(":")[-2]) } + worker_pids(worker.pid)).uniq
  pids.each do |pid|
    Process.kill("KILL", pid)
    kills += 1
  rescue Errno::ESRCH
    nil
  end
  sleep 0.05 while pids.any? { |pid| alive?(pid) }
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 90
  loop do
    open = AgentSession.where(id: sessions.map(&:id)).where.not(status: %w[completed failed cancelled])
    break if open.none?
    if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      stuck.concat(open.pluck(:id))
      break
    end

    RubyLLM::AgentSDK::ActiveJob::RecoveryJob.perform_now
    sleep 1
  end
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started

rows = AgentSession.where(id: ids).order(:id).pluck(:id, :prompt, :status, :failure_reason, :recoveries)
effects = JobRun.where(job: "side_effect").group(:tag).count
results = AgentMessage.where(agent_session_id: ids, message_type: "result").group(:agent_session_id).count
puts format("%-6s %-18s %-9s %-14s %10s %12s %8s", "run", "at the kill", "status", "reason", "recoveries", "side effects",
            "results")
lost = 0
twice = 0
rows.each do |id, prompt, status, reason, recoveries|
  run = prompt[/run (\w+)/, 1]
  ok = status == "completed" || (status == "failed" && reason.present?)
  lost += 1 unless ok
  twice += 1 if effects.fetch(run, 0) > 1
  puts format("%-6s %-18s %-9s %-14s %10d %12d %8d", run, at_kill[id], status, reason || "-", recoveries,
              effects.fetch(run, 0), results.fetch(id, 0))
end
by_status = rows.map { |r| [r[2], r[3]].compact.join(":") }.tally
puts
puts "#{RUNS} runs on #{ActiveRecord::Base.connection.adapter_name}, #{kills} worker processes kill -9ed, " \
     "#{format('%.0f', elapsed)} s"
puts "at the kill: #{at_kill.values.map { |v| v.split('/').first }.tally.map { |k, v| "#{v} #{k}" }.join(', ')}"
puts "ended: #{by_status.map { |k, v| "#{v} #{k}" }.join(', ')}; recovered at least once: " \
     "#{rows.count { |r| r[4].positive? }}"
puts "lost (neither completed nor failed with a reason): #{lost}#{" (ids #{stuck.join(' ')})" if stuck.any?}"
puts "side effects executed twice: #{twice}; runs whose side effect never ran: " \
     "#{rows.count { |r| effects.fetch(r[1][/run (\w+)/, 1], 0).zero? }}"
worker.stop
server.stop
exit(lost.zero? && twice.zero? ? 0 : 1)
