# frozen_string_literal: true

# The dashboard's main pages with 100,000 sessions (and 200,000 messages: each session an assistant row with 1–3 tool
# calls and a user row with its tool results' errors), on SQLite and on PostgreSQL, requested in-process through
# ActionDispatch::Integration::Session (the whole Rails stack, no server, no network):
#
#   bundle exec rake compile && ruby bench/dashboard.rb [SESSIONS] [REQUESTS] [sqlite|postgresql]
#
# Rows are spread over 90 days (the overview's default 7 days hold ~7,800 sessions, 30 days ~33,000). After one
# warm-up request a page, REQUESTS rounds request each page once with the indexes and once with the four the dashboard
# adds dropped (built again after): the two sides share the load of this machine. Median and p95 wall ms are printed
# against BUDGET_MS, the unindexed side as its ratio to the indexed; last, the 30-day overview's aggregates done
# naively in Ruby over the loaded rows (load them, sort, sum), once, as a ratio. Nothing is asserted. With no adapter given, both run, each in a
# process of its own (the dummy app picks its database when it boots); PostgreSQL is the spec suite's own server
# (spec/support/servers.rb), skipped when Debian's postgresql is not installed.
require "rbconfig"

SESSIONS = Integer(ARGV[0] || 100_000)
REQUESTS = Integer(ARGV[1] || 7)
BUDGET_MS = 300
ROOT = File.expand_path("..", __dir__)

if ARGV[2].nil?
  %w[sqlite postgresql].each do |adapter|
    system(RbConfig.ruby, __FILE__, SESSIONS.to_s, REQUESTS.to_s, adapter, exception: false) or
      warn "bench/dashboard.rb #{adapter}: exited with #{$?.exitstatus}"
  end
  exit
end

ADAPTER = ARGV[2]
ENV["RAILS_ENV"] = "test"
ENV["AGENT_SDK_DB"] = "postgresql" if ADAPTER == "postgresql"
require "bundler/setup"
$LOAD_PATH.unshift(File.join(ROOT, "lib"))
require File.join(ROOT, "spec/support/servers")
require File.join(ROOT, "spec/support/rails/dummy_database")
require File.join(ROOT, "spec/support/rails/dashboard_rows")
begin
  AgentSDKSpec::DummyDatabase.configure_env
rescue AgentSDKSpec::Servers::Unavailable => e
  puts "#{ADAPTER}: skipped (#{e.message})"
  exit
end
require File.join(ROOT, "spec/dummy/config/environment")
AgentSDKSpec::DummyDatabase.prepare
Rails.logger.level = :warn
ActiveRecord::Base.logger = nil

TODAY = Time.now.utc.to_date
DASHBOARD_INDEXES = [[:agent_sessions, %i[status created_at]], [:agent_sessions, %i[model_id created_at]],
                     [:agent_sessions, %i[transport created_at]], [:agent_sessions, %i[user_id created_at]]].freeze

def clock = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def stats(times)
  sorted = times.sort
  [sorted[sorted.size / 2], sorted[((sorted.size - 1) * 0.95).round]].map { |t| t * 1000 }
end

def seed
  users = Array.new(50) { |i| User.create!(name: "user #{i}").id }
  started = clock
  AgentSDKSpec::DashboardRows.insert(sessions: AgentSession, messages: AgentMessage, count: SESSIONS, today: TODAY,
                                     days: 90, user_ids: users, seed: 42)
  seconds = clock - started
  ActiveRecord::Base.connection.execute("ANALYZE")
  puts format("%s: seeded %d sessions, %d messages in %.1f s (insert_all, 5,000 a batch)", ADAPTER, AgentSession.count,
              AgentMessage.count, seconds)
  users
end

def pages(users)
  middle = AgentSession.order(created_at: :desc, id: :desc).offset(SESSIONS / 2).first
  cursor = "#{middle.created_at.utc.iso8601(6)}_#{middle.id}"
  session = AgentSession.where(status: "completed").order(:id).last
  {
    "overview (7 days, default)" => ["/agents", {}],
    "overview (30 days)" => ["/agents", { from: (TODAY - 29).iso8601, to: TODAY.iso8601 }],
    "overview, one model, 7 days" => ["/agents", { model: "claude-haiku" }],
    "overview, one user, 7 days" => ["/agents", { user: users.first, from: (TODAY - 6).iso8601, to: TODAY.iso8601 }],
    "runs, newest" => ["/agents/sessions", {}],
    "runs, failed" => ["/agents/sessions", { status: "failed" }],
    "runs, page at the middle row" => ["/agents/sessions", { before: cursor }],
    "runs, one model, one day" => ["/agents/sessions", { model: "claude-opus-4-1", from: (TODAY - 1).iso8601, to: (TODAY - 1).iso8601 }],
    "session page" => ["/agents/sessions/#{session.id}", {}]
  }
end

def timed(app, path, params)
  started = clock
  app.get(path, params: params)
  raise "#{path}: #{app.response.status}" unless app.response.status == 200

  clock - started
end

def drop_indexes(connection)
  DASHBOARD_INDEXES.each { |table, columns| connection.remove_index(table, columns) }
end

def create_indexes(connection)
  DASHBOARD_INDEXES.each { |table, columns| connection.add_index(table, columns) }
end

# Rounds, each page once with the indexes and once without them (dropped, then built again): the two sides see the
# same load on this shared machine.
def measure(app, pages)
  connection = ActiveRecord::Base.connection
  pages.each_value { |(path, params)| timed(app, path, params) } # warm-up
  with = Hash.new { |h, k| h[k] = [] }
  without = Hash.new { |h, k| h[k] = [] }
  REQUESTS.times do
    pages.each { |name, (path, params)| with[name] << timed(app, path, params) }
    drop_indexes(connection)
    pages.each { |name, (path, params)| without[name] << timed(app, path, params) }
    create_indexes(connection)
  end
  [with.transform_values { |t| stats(t) }, without.transform_values { |t| stats(t) }]
end

# The overview's numbers the naive way: every session of the range and their messages loaded, aggregated in Ruby.
def ruby_overview
  from = Time.utc(TODAY.year, TODAY.month, TODAY.day) - (29 * 86_400)
  sessions = AgentSession.where(created_at: from..).to_a
  finished = sessions.select { |s| %w[completed failed cancelled].include?(s.status) }
  percentile = lambda do |values, p|
    sorted = values.sort
    rank = p * (sorted.size - 1)
    sorted[rank.floor] + ((sorted[rank.ceil] - sorted[rank.floor]) * (rank - rank.floor))
  end
  [0.5, 0.95].each { |p| [percentile.call(finished.map(&:num_turns), p), percentile.call(finished.map { |s| s.total_cost_usd.to_f }, p)] }
  sessions.group_by { |s| [s.created_at.to_date, s.model_id] }.transform_values { |rows| rows.sum { |s| s.total_cost_usd.to_f } }
  calls = Hash.new(0)
  errors = Hash.new(0)
  AgentMessage.where(agent_session_id: sessions.map(&:id)).find_each do |row|
    Array(row.tool_calls).each { |c| calls[c["name"]] += 1 }
    Array(row.metadata.is_a?(Hash) ? row.metadata["tool_errors"] : nil).each { |n| errors[n] += 1 }
  end
  sessions.select { |s| s.status == "failed" }.group_by(&:failure_reason).transform_values(&:size)
end

def report(title, results, baseline = nil)
  puts "#{ADAPTER}: #{title} (#{REQUESTS} requests a page, budget #{BUDGET_MS} ms)"
  results.each do |name, (median, p95)|
    line = format("  %-28s median %7.1f ms  p95 %7.1f ms  %s", name, median, p95, p95 <= BUDGET_MS ? "within budget" : "OVER budget")
    line += format("  (%.1fx the indexed median)", median / baseline[name][0]) if baseline
    puts line
  end
end

users = seed
app = ActionDispatch::Integration::Session.new(Rails.application)
indexed, unindexed = measure(app, pages(users))
report("with the dashboard's indexes", indexed)
report("baseline: the same pages without the indexes the dashboard adds", unindexed, indexed)

started = clock
ruby_overview
ms = (clock - started) * 1000
puts format("%s: baseline, the 30-day overview's aggregates in Ruby over the loaded rows: %.1f ms (%.1fx the page)", ADAPTER,
            ms, ms / indexed["overview (30 days)"][0])
